# frozen_string_literal: true

require "json"
require "dry-types"
require_relative "../errors"
require_relative "json_value"
require_relative "primitives"

module TaskerCore
  module Types
    # Immutable typed message built on dry-types (dry-struct is not available).
    #
    #   class Ping < Base
    #     kind "ping"
    #     attribute :task_uuid, Primitives::Uuid, rule: "must be a UUID"
    #   end
    #   Ping.new(task_uuid: uuid).to_h  # => {"kind" => "ping", "task_uuid" => "…"}
    #
    # Every attribute is checked on construction; a bad one raises ValidationError naming
    # the field. Instances are frozen, and so is everything they hold.
    class Base
      # fast: a Primitives fast check (nil: the type always decides); ivar: where it is kept.
      Attribute = Struct.new(:name, :type, :key, :rule, :json, :fast, :ivar, keyword_init: true)

      class << self
        # The "kind" discriminator written first in to_h (nil for nested values).
        def kind(value = nil)
          @kind = value.freeze unless value.nil?
          @kind
        end

        # key: the name on the wire when it differs from the Ruby name.
        # json: true normalizes the value as JSON (string keys, frozen copy) first.
        # fast: a plain-Ruby check standing in for the type when it can (Primitives::FAST_CHECKS).
        def attribute(name, type, rule:, key: name.to_s, json: false, fast: Primitives.fast_check(type))
          own_attributes[name] = Attribute.new(name: name, type: type, key: key.freeze, rule: rule, json: json,
                                               fast: fast, ivar: :"@#{name}").freeze
          @attributes = nil
          attr_reader name
        end

        # Computed once per class: every message built reads it.
        def attributes
          @attributes ||= begin
            inherited = superclass.respond_to?(:attributes) ? superclass.attributes : {}
            inherited.merge(own_attributes).freeze
          end
        end

        # Builds from a parsed JSON object (string or symbol keys). Keys this version does
        # not know are ignored, so a newer producer can add fields.
        def from_json_hash(hash)
          raise ValidationError.new("#{type_name} must be built from a Hash, got #{hash.class}", field: nil) unless hash.is_a?(Hash)

          hash = hash.transform_keys(&:to_s) unless hash.each_key.all?(String) # parsed JSON has String keys
          check_kind(hash)
          # As new(**attributes found in hash) would, without building that Hash.
          allocate.tap { |message| message.send(:assign) { |attr| hash.fetch(attr.key, Dry::Types::Undefined) } }
        end

        def type_name
          name.to_s.split("::").last
        end

        private

        def own_attributes
          @own_attributes ||= {}
        end

        def check_kind(hash)
          return if kind.nil? || !hash.key?("kind") || hash["kind"] == kind

          raise ValidationError.new("#{type_name}.kind must be #{kind.inspect}, got #{hash['kind'].inspect}",
                                    field: "kind")
        end
      end

      def initialize(**attrs)
        attributes = self.class.attributes
        unless attrs.each_key.all? { |name| attributes.key?(name) }
          unknown = attrs.keys - attributes.keys
          raise ValidationError.new("#{self.class.type_name} has no attribute(s) #{unknown.join(', ')}",
                                    field: unknown.first.to_s)
        end

        assign { |attr| attrs.fetch(attr.name, Dry::Types::Undefined) }
      end

      # String keys exactly as on the wire, "kind" first.
      def to_h
        out = self.class.kind ? { "kind" => self.class.kind } : {}
        self.class.attributes.each_value do |attr|
          value = instance_variable_get(attr.ivar)
          out[attr.key] = value.is_a?(Base) ? value.to_h : value
        end
        out
      end

      def to_json(*args)
        to_h.to_json(*args)
      end

      # A copy with some attributes changed (validated like a new instance).
      def with(**changes)
        current = self.class.attributes.each_key.to_h { |name| [name, public_send(name)] }
        self.class.new(**current, **changes)
      end

      def ==(other)
        other.instance_of?(self.class) && other.to_h == to_h
      end
      alias eql? ==

      def hash
        [self.class, to_h].hash
      end

      def inspect
        "#<#{self.class.name} #{to_h.inspect}>"
      end

      private

      # Sets every attribute from `yield(attribute)` (Dry::Types::Undefined when absent), checked.
      def assign
        self.class.attributes.each_value do |attr|
          instance_variable_set(attr.ivar, coerce(attr, yield(attr)))
        end
        validate!
        freeze
      end

      # Cross-field rules; subclasses override and call invalid!.
      def validate!; end

      def invalid!(field, message)
        raise ValidationError.new("#{self.class.type_name}.#{field} #{message}", field: field)
      end

      def coerce(attr, value)
        if value.equal?(Dry::Types::Undefined)
          return attr.type[value] if attr.type.default?
          return nil if attr.type.optional?

          invalid!(attr.key, "is missing")
        end
        check(attr, value)
      end

      def check(attr, value)
        value = JsonValue.normalize(value, attr.key) if attr.json
        checked = attr.fast ? attr.fast.call(value) : Primitives::SLOW
        checked = attr.type[value] if checked.equal?(Primitives::SLOW)
        checked.is_a?(String) && !checked.frozen? ? checked.dup.freeze : checked
      rescue JsonValue::Invalid => e
        raise ValidationError.new("#{self.class.type_name}.#{e.message}", field: attr.key)
      rescue ValidationError => e
        # A nested message (e.g. StepResult.error) failed: keep its detail, add our path.
        raise ValidationError.new("#{self.class.type_name}.#{attr.key}: #{e.message}",
                                  field: [attr.key, e.field].compact.join("."))
      rescue Dry::Types::CoercionError, Dry::Types::ConstraintError, ArgumentError, TypeError
        invalid!(attr.key, "#{attr.rule}, got #{preview(value)}")
      end

      def preview(value)
        text = value.inspect
        text.length > 80 ? "#{text[0, 77]}..." : text
      end
    end
  end
end
