# frozen_string_literal: true

module TaskerCore
  module Web
    class Probes
      # Prometheus text exposition format 0.0.4: each family once, its # HELP and # TYPE
      # first, then its samples; label values escaped (\\, \", \n), HELP text escaped (\\, \n).
      class Exposition
        CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
        NAME = /\A[a-zA-Z_:][a-zA-Z0-9_:]*\z/
        LABEL = /\A[a-zA-Z_][a-zA-Z0-9_]*\z/
        TYPES = %w[counter gauge histogram summary untyped].freeze

        def initialize
          @lines = []
        end

        # One family: samples is [[suffix, labels Hash, value], ...] (suffix "" for gauges and
        # counters, "_bucket"/"_sum"/"_count" for histograms).
        def family(name, type, help, samples)
          raise ArgumentError, "bad metric name #{name.inspect}" unless name.match?(NAME)
          raise ArgumentError, "bad metric type #{type.inspect}" unless TYPES.include?(type)

          @lines << "# HELP #{name} #{help.gsub('\\', '\\\\\\\\').gsub("\n", '\\n')}"
          @lines << "# TYPE #{name} #{type}"
          samples.each { |suffix, labels, value| @lines << sample("#{name}#{suffix}", labels, value) }
          self
        end

        def to_s
          @lines.empty? ? "" : "#{@lines.join("\n")}\n"
        end

        # The le label's text for a bucket bound (+Inf for the last).
        def self.le(bound)
          return "+Inf" if bound.nil? || bound == Float::INFINITY

          format_value(bound)
        end

        def self.format_value(value)
          return "+Inf" if value == Float::INFINITY
          return "NaN" if value.is_a?(Float) && value.nan?
          return value.to_s if value.is_a?(Integer)

          float = Float(value)
          float == float.floor && float.abs < 1e15 ? float.to_i.to_s : float.to_s
        end

        private

        def sample(name, labels, value)
          return "#{name} #{self.class.format_value(value)}" if labels.empty?

          pairs = labels.map do |key, val|
            raise ArgumentError, "bad label name #{key.inspect}" unless key.to_s.match?(LABEL)

            %(#{key}="#{escape(val.to_s)}")
          end
          "#{name}{#{pairs.join(',')}} #{self.class.format_value(value)}"
        end

        def escape(text)
          text.gsub("\\") { "\\\\" }.gsub('"') { '\\"' }.gsub("\n") { "\\n" }
        end
      end
    end
  end
end
