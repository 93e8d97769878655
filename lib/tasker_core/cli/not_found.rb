# frozen_string_literal: true

require_relative "../errors"

module TaskerCore
  module CLI
    # What a command looked for is not there (a template, a dead letter): exit status 3,
    # as for TaskerCore::TaskNotFound.
    class NotFound < TaskerCore::Error; end
  end
end
