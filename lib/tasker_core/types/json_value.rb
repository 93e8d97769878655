# frozen_string_literal: true

module TaskerCore
  module Types
    # Normalizes a value to what JSON round-trips to: string keys, symbols as strings,
    # deep-copied and deep-frozen, so a message never shares mutable state with its caller.
    module JsonValue
      # Raised with the path of the first value JSON cannot carry.
      class Invalid < ArgumentError; end

      module_function

      def normalize(value, path = "value")
        case value
        when Hash
          value.each_with_object({}) do |(key, item), out|
            name = json_key(key, path)
            out[name] = normalize(item, "#{path}.#{name}")
          end.freeze
        when Array
          value.each_with_index.map { |item, i| normalize(item, "#{path}[#{i}]") }.freeze
        when String then utf8(value, path)
        when Symbol then value.to_s.freeze
        when Integer, TrueClass, FalseClass, NilClass then value
        when Float
          raise Invalid, "#{path} is #{value}, which JSON cannot represent" unless value.finite?

          value
        else
          raise Invalid, "#{path} is a #{value.class}, not a JSON value (Hash, Array, String, number, true, false, nil)"
        end
      end

      def json_key(key, path)
        case key
        when String then utf8(key, path)
        when Symbol then key.to_s.freeze
        else raise Invalid, "#{path} has a #{key.class} key #{key.inspect}; keys must be strings or symbols"
        end
      end

      # A frozen UTF-8 copy; binary strings are accepted when their bytes are UTF-8.
      def utf8(str, path)
        text =
          if [Encoding::UTF_8, Encoding::ASCII_8BIT, Encoding::US_ASCII].include?(str.encoding)
            str.dup.force_encoding(Encoding::UTF_8)
          else
            str.encode(Encoding::UTF_8)
          end
        raise Invalid, "#{path} is not valid UTF-8 text" unless text.valid_encoding?

        text.freeze
      rescue EncodingError
        raise Invalid, "#{path} cannot be converted to UTF-8 text"
      end
    end
  end
end
