# frozen_string_literal: true

require_relative "limits"

module TaskerCore
  module Types
    # Normalizes a value to what JSON round-trips to: string keys, symbols as strings,
    # deep-copied and deep-frozen, so a message never shares mutable state with its caller.
    # `symbols: false` (a handler's results) refuses Symbols instead: a result is what the
    # handler returned, never a silent conversion of it.
    #
    # Mirrors the Rust core's one definition of an acceptable JSON value
    # (ext/tasker_orchestration/src/domain/json_rules.rs), in the same words: nested at most
    # MAX_DEPTH levels, no NUL in a string or key (jsonb cannot store it), finite floats,
    # integers of at most MAX_INTEGER_DIGITS digits.
    # Also refuses what only Ruby can hold: other classes, text that is not UTF-8.
    module JsonValue
      # Raised with the path of the first value JSON cannot carry.
      class Invalid < ArgumentError; end

      MAX_DEPTH = Limits::MAX_JSON_DEPTH
      MAX_MESSAGE_DEPTH = Limits::MAX_MESSAGE_DEPTH
      MAX_INTEGER_DIGITS = Limits::MAX_INTEGER_DIGITS
      # Below this many bits an integer cannot have more than MAX_INTEGER_DIGITS digits
      # (10**131072 has 435,412), so the digits of ordinary integers are never counted.
      INTEGER_BITS_CHECKED = (MAX_INTEGER_DIGITS * Math.log2(10)).floor
      NUL = "\u0000"

      module_function

      # max_depth: MAX_DEPTH for a payload; a value holding payloads one level down (step
      # results by step name) is allowed MAX_MESSAGE_DEPTH.
      def normalize(value, path = "value", max_depth: MAX_DEPTH, symbols: true)
        check_depth(value, path, max_depth)
        copy(value, path, symbols: symbols)
      end

      # Depth first, as the core does, and without recursion: a value nested 100,000 deep,
      # or one that contains itself, is refused before the copy below recurses into it.
      # Depth-first order reaches the limit after at most max_depth steps down a cycle.
      def check_depth(value, path, max_depth)
        stack = container?(value) ? [[value, 1]] : []
        until stack.empty?
          item, depth = stack.pop
          raise Invalid, "#{path} is nested deeper than #{max_depth} levels" if depth > max_depth

          (item.is_a?(Hash) ? item.each_value : item.each).each do |child|
            stack.push([child, depth + 1]) if container?(child)
          end
        end
      end

      def container?(value)
        value.is_a?(Hash) || value.is_a?(Array)
      end

      def copy(value, path, symbols: true)
        case value
        when Hash then copy_hash(value, path, symbols: symbols)
        when Array then value.each_with_index.map { |item, i| copy(item, "#{path}[#{i}]", symbols: symbols) }.freeze
        when String then text(value, path)
        when Symbol
          raise Invalid, "#{path} is a Symbol, not a JSON value (use a String)" unless symbols

          text(value.to_s, path)
        when Integer then integer(value, path)
        when TrueClass, FalseClass, NilClass then value
        when Float then finite(value, path)
        else
          raise Invalid, "#{path} is a #{value.class}, not a JSON value (Hash, Array, String, number, true, false, nil)"
        end
      end

      def copy_hash(hash, path, symbols: true)
        hash.each_with_object({}) do |(key, item), out|
          name = json_key(key, path, symbols: symbols)
          out[name] = copy(item, "#{path}.#{name}", symbols: symbols)
        end.freeze
      end

      def json_key(key, path, symbols: true)
        name =
          case key
          when String then utf8(key, path)
          when Symbol
            raise Invalid, "#{path} has a Symbol key #{key.inspect}, not a JSON key (a String)" unless symbols

            utf8(key.to_s, path)
          else raise Invalid, "#{path} has a #{key.class} key #{key.inspect}; keys must be strings or symbols"
          end
        raise Invalid, "#{path} has a key with a NUL character" if name.include?(NUL)

        name
      end

      def text(str, path)
        text = utf8(str, path)
        raise Invalid, "#{path} contains a NUL character" if text.include?(NUL)

        text
      end

      def integer(int, path)
        if int.bit_length >= INTEGER_BITS_CHECKED && int.abs.to_s.length > MAX_INTEGER_DIGITS
          raise Invalid, "#{path} is an integer of more than #{MAX_INTEGER_DIGITS} digits"
        end

        int
      end

      def finite(float, path)
        raise Invalid, "#{path} is #{float}, which JSON cannot represent" unless float.finite?

        float
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
