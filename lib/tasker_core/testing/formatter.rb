# frozen_string_literal: true

module TaskerCore
  module Testing
    # How expected and actual values appear in failure messages: RSpec's formatter when RSpec
    # is loaded (it shows argument matchers by their description, also inside a Hash),
    # inspect otherwise.
    module Formatter
      module_function

      def format(value)
        return ::RSpec::Support::ObjectFormatter.format(value) if defined?(::RSpec::Support::ObjectFormatter)

        value.inspect
      end
    end
  end
end
