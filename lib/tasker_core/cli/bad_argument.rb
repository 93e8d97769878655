# frozen_string_literal: true

require_relative "../errors"

module TaskerCore
  module CLI
    # An argument the command cannot use (a duration, a JSON result, an action name): one
    # line on stderr, exit status 1.
    class BadArgument < TaskerCore::Error; end
  end
end
