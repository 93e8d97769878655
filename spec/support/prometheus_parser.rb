# frozen_string_literal: true

module TaskerSpec
  # A strict parser of the Prometheus text exposition format 0.0.4, for the metrics specs:
  # raises on anything promtool would refuse (bad names, samples without HELP and TYPE,
  # a family declared twice, bad escapes, non-cumulative histogram buckets).
  class PrometheusParser
    NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/
    LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/
    VALUE = /[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN)/
    Sample = Struct.new(:name, :labels, :value)
    Family = Struct.new(:name, :type, :help, :samples)

    def self.parse(text)
      new.parse(text)
    end

    def parse(text)
      raise "exposition must end with a newline" unless text.end_with?("\n")

      @families = {}
      text.each_line(chomp: true) { |line| line(line) }
      @families.each_value { |family| check_histogram(family) if family.type == "histogram" }
      @families
    end

    private

    def line(line)
      case line
      when /\A# HELP (#{NAME}) (.*)\z/o then declare(Regexp.last_match(1), :help, Regexp.last_match(2))
      when /\A# TYPE (#{NAME}) (counter|gauge|histogram|summary|untyped)\z/o
        declare(Regexp.last_match(1), :type, Regexp.last_match(2))
      when /\A#/ then raise "unexpected comment line: #{line}"
      when "" then nil
      else sample(line)
      end
    end

    def declare(name, what, value)
      family = (@families[name] ||= Family.new(name, nil, nil, []))
      raise "#{what} of #{name} given twice" if family[what]
      raise "#{name}: # #{what.upcase} after its samples" unless family.samples.empty?

      family[what] = value
    end

    def sample(line)
      match = /\A(#{NAME})(\{.*\})? (#{VALUE})\z/o.match(line) or raise "bad sample line: #{line.inspect}"
      name = match[1]
      family = family_of(name) or raise "sample #{name} has no # HELP/# TYPE family"
      raise "family #{family.name} lacks HELP or TYPE" unless family.help && family.type

      family.samples << Sample.new(name, labels(match[2].to_s), number(match[3]))
    end

    def family_of(name)
      return @families[name] if @families[name]&.type && @families[name].type != "histogram"

      base = name.sub(/_(bucket|sum|count)\z/, "")
      @families[base] if @families[base]&.type == "histogram"
    end

    def labels(text)
      return {} if text.empty?

      body = text[1..-2]
      labels = {}
      until body.empty?
        match = /\A(#{LABEL_NAME})="((?:[^"\\\n]|\\[\\"n])*)"(,|\z)/o.match(body) or raise "bad labels: #{text}"
        raise "label #{match[1]} repeated" if labels.key?(match[1])

        labels[match[1]] = match[2].gsub(/\\(.)/) { Regexp.last_match(1) == "n" ? "\n" : Regexp.last_match(1) }
        body = match.post_match
      end
      labels
    end

    def number(text)
      { "+Inf" => Float::INFINITY, "Inf" => Float::INFINITY, "-Inf" => -Float::INFINITY, "NaN" => Float::NAN }
        .fetch(text) { Float(text) }
    end

    def check_histogram(family)
      family.samples.group_by { |s| s.labels.except("le") }.each do |labels, samples|
        where = "#{family.name}#{labels}"
        buckets = samples.select { |s| s.name.end_with?("_bucket") }
        check_buckets(where, buckets)
        count = samples.find { |s| s.name == "#{family.name}_count" } or raise "#{where}: no _count"
        samples.find { |s| s.name == "#{family.name}_sum" } or raise "#{where}: no _sum"
        raise "#{where}: +Inf bucket #{buckets.last.value} != _count #{count.value}" unless buckets.last.value == count.value
      end
    end

    def check_buckets(where, buckets)
      raise "#{where}: a bucket without le" if buckets.any? { |s| !s.labels.key?("le") }

      bounds = buckets.map { |s| number(s.labels["le"]) }
      raise "#{where}: buckets not in order of le" unless bounds == bounds.sort
      raise "#{where}: no le=\"+Inf\" bucket" unless buckets.last&.labels&.fetch("le") == "+Inf"

      values = buckets.map(&:value)
      raise "#{where}: buckets not cumulative #{values}" unless values == values.sort
    end
  end
end
