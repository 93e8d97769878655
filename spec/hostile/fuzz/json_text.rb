# frozen_string_literal: true

module QueueFuzz
  # Random JSON documents as TEXT, drawn from a seeded Random. Text rather than Ruby objects:
  # a document may then be nested far deeper than Ruby's JSON (100 levels) would build or
  # print, strings may use every escape form, and an object may repeat a key.
  class JsonText
    # Characters drawn for strings: ASCII, accents, other scripts (RTL included), combining
    # marks, zero-width and line-separator characters, controls, astral emoji, private use.
    # Never U+0000 (a separate class: jsonb refuses it) nor a surrogate (not a character).
    CHARACTER_RANGES = [
      0x20..0x7e, 0x20..0x7e, 0x20..0x7e, 0x01..0x1f, 0x7f..0x7f, 0xa0..0xff, 0x370..0x3ff, 0x400..0x4ff,
      0x5d0..0x5ea, 0x600..0x6ff, 0x300..0x36f, 0x200b..0x200f, 0x2028..0x2029, 0xfeff..0xfeff,
      0x4e00..0x9fff, 0xe000..0xe0ff, 0xfff0..0xffff, 0x1f600..0x1f64f, 0x10000..0x1007f, 0x10fff0..0x10ffff
    ].freeze
    SHORT_ESCAPES = { '"' => '\\"', "\\" => "\\\\", "\b" => "\\b", "\f" => "\\f", "\n" => "\\n", "\r" => "\\r",
                      "\t" => "\\t" }.freeze
    NUMBERS = ["0", "-0", "1", "-1", "2147483647", "2147483648", "-2147483649", "9223372036854775808",
               "1.5", "-0.0", "1e3", "1E-7", "1e309", "-1e309", "1e-400", "123456789012345678901234567890",
               "0.1000000000000000055511151231257827"].freeze

    attr_reader :random

    def initialize(random)
      @random = random
    end

    # Any value: a scalar, or arrays/objects down to `depth` levels of at most `width` items.
    def value(depth: 3, width: 4)
      return scalar if depth <= 0 || random.rand < 0.3

      random.rand < 0.5 ? array(depth: depth, width: width) : object(depth: depth, width: width)
    end

    def array(depth: 3, width: 4)
      "[#{Array.new(random.rand(width + 1)) { value(depth: depth - 1, width: width) }.join(',')}]"
    end

    def object(depth: 3, width: 4)
      members = Array.new(random.rand(width + 1)) { "#{literal(key)}:#{value(depth: depth - 1, width: width)}" }
      "{#{members.join(',')}}"
    end

    # `levels` arrays and objects, one inside the other, around `inner`; built without
    # recursion, so 10,000 levels are as cheap as 10.
    def nested(levels, inner: scalar)
      opens = []
      closes = []
      levels.times do
        if random.rand < 0.5
          opens << "["
          closes << "]"
        else
          opens << "{#{literal(key)}:"
          closes << "}"
        end
      end
      "#{opens.join}#{inner}#{closes.reverse.join}"
    end

    # A depth from `min` to `max`, log-uniform: as many near 100 as near 10,000.
    def depth(min, max)
      Math.exp(Math.log(min) + (random.rand * (Math.log(max) - Math.log(min)))).round.clamp(min, max)
    end

    def scalar
      case random.rand(10)
      when 0 then "null"
      when 1 then random.rand < 0.5 ? "true" : "false"
      when 2, 3 then number
      else literal(string)
      end
    end

    def number
      return NUMBERS.sample(random: random) if random.rand < 0.5

      random.rand(-1_000_000..1_000_000).to_s
    end

    def key
      random.rand < 0.6 ? string(max: 12, ascii: random.rand < 0.7) : string(max: 40)
    end

    # A random string (a Ruby String; `literal` writes it as JSON).
    def string(max: 24, ascii: false)
      Array.new(random.rand(max + 1)) { character(ascii) }.join
    end

    def long_string(min, max)
      size = random.rand(min..max)
      unit = string(max: 64)
      unit = "x" if unit.empty?
      (unit * ((size / unit.bytesize) + 1)).byteslice(0, size).scrub("")
    end

    # `str` as a JSON string literal, each character written raw or escaped at random
    # (\uXXXX, surrogate pairs for astral characters, \/).
    def literal(str)
      "\"#{str.each_char.map { |char| escape(char) }.join}\""
    end

    private

    def character(ascii)
      return random.rand(0x20..0x7e).chr if ascii

      random.rand(CHARACTER_RANGES.sample(random: random)).chr(Encoding::UTF_8)
    end

    def escape(char)
      return SHORT_ESCAPES[char] if SHORT_ESCAPES.key?(char) && (char != "\t" || random.rand < 0.5)

      code = char.ord
      return format("\\u%04x", code) if code < 0x20
      return "\\/" if char == "/" && random.rand < 0.5
      return char if random.rand < 0.85
      return format("\\u%04X", code) if code < 0x10000

      high, low = surrogates(code)
      format("\\u%<high>04x\\u%<low>04x", high: high, low: low)
    end

    def surrogates(code)
      offset = code - 0x10000
      [0xd800 + (offset >> 10), 0xdc00 + (offset & 0x3ff)]
    end
  end
end
