# frozen_string_literal: true

module TaskerCore
  # The identifier rules, Ruby's one copy of the Rust core's
  # (ext/tasker_orchestration/src/domain/identifiers.rs): every name that reaches SQL as an
  # identifier (queue names) or is resolved as code (handler classes) is checked against
  # them first. spec/native/identifiers_spec.rb fails when the two disagree.
  module Identifiers
    # Longest pgmq queue name: pgmq derives table names from it (63-byte identifiers).
    MAX_QUEUE_NAME = 47
    QUEUE_SUFFIX = "_queue"
    # `<namespace>_queue` must be a queue name.
    MAX_NAMESPACE = MAX_QUEUE_NAME - QUEUE_SUFFIX.length
    # Task and step names.
    MAX_NAME = 63
    MAX_HANDLER_CLASS = 200
    MAX_VERSION = 64
    # Largest index of an item of a map step.
    MAX_ITEM_INDEX = 999_999

    # `^[a-z][a-z0-9_]*$` of at most max characters (ASCII only).
    def self.snake_format(max)
      /\A[a-z][a-z0-9_]{0,#{max - 1}}\z/
    end
    private_class_method :snake_format

    QUEUE_NAME_FORMAT = snake_format(MAX_QUEUE_NAME)
    NAMESPACE_FORMAT = snake_format(MAX_NAMESPACE)
    NAME_FORMAT = snake_format(MAX_NAME)
    # A step's name: a name, or an item of a map step, `<name>[<index>]` (0..MAX_ITEM_INDEX,
    # no leading zeros).
    STEP_NAME_FORMAT = /\A(?<name>[a-z][a-z0-9_]{0,#{MAX_NAME - 1}})(?:\[(?<index>0|[1-9][0-9]{0,5})\])?\z/
    # A Ruby constant path: `Foo`, `Foo::Bar2` (at most MAX_HANDLER_CLASS characters).
    HANDLER_CLASS_FORMAT = /\A[A-Z][A-Za-z0-9_]*(::[A-Z][A-Za-z0-9_]*)*\z/
    # MAJOR.MINOR.PATCH with an optional -pre / +build suffix (at most MAX_VERSION characters).
    VERSION_FORMAT = /\A\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?\z/

    module_function

    def namespace?(name)
      name.is_a?(String) && name.match?(NAMESPACE_FORMAT)
    end

    def name?(name)
      name.is_a?(String) && name.match?(NAME_FORMAT)
    end

    def step_name?(name)
      match = name.is_a?(String) && STEP_NAME_FORMAT.match(name)
      return false unless match

      match[:index].nil? || Integer(match[:index], 10) <= MAX_ITEM_INDEX
    end

    def queue_name?(name)
      name.is_a?(String) && name.match?(QUEUE_NAME_FORMAT)
    end

    def handler_class?(name)
      name.is_a?(String) && name.length <= MAX_HANDLER_CLASS && name.match?(HANDLER_CLASS_FORMAT)
    end

    def version?(version)
      version.is_a?(String) && version.length <= MAX_VERSION && version.match?(VERSION_FORMAT)
    end
  end
end
