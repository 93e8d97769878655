# frozen_string_literal: true

require "json"

module TaskerCore
  module CLI
    # What a command prints: JSON with --json, else text with colours on a terminal only
    # (and never with NO_COLOR set).
    class Output
      STATE_COLOURS = {
        "complete" => 32, "resolved_manually" => 32, "error" => 31, "cancelled" => 35,
        "in_progress" => 36, "enqueued" => 36, "waiting_for_retry" => 33, "pending" => 90,
        "waiting" => 34, "skipped" => 2
      }.freeze

      def initialize(io, json: false)
        @io = io
        @json = json ? true : false
        @colour = io.respond_to?(:tty?) && io.tty? && ENV["NO_COLOR"].to_s.empty?
      end

      def json?
        @json
      end

      def puts(text = "")
        @io.puts(text)
      end

      def json(value)
        @io.puts(JSON.pretty_generate(value))
      end

      # The state's name (or `label`) in the state's colour.
      def state(name, label = name)
        paint(label.to_s, STATE_COLOURS[name.to_s])
      end

      def bold(text)
        paint(text, 1)
      end

      def dim(text)
        paint(text, 90)
      end

      # Rows of cells under a header, each column as wide as its widest cell (ignoring colour codes).
      def table(header, rows)
        widths = header.each_index.map { |i| ([header] + rows).map { |row| visible(row[i].to_s).size }.max }
        [header.map { |h| bold(h) }, *rows].each do |row|
          cells = row.each_with_index.map { |cell, i| cell.to_s + (" " * (widths[i] - visible(cell.to_s).size)) }
          @io.puts(cells.join("  ").rstrip)
        end
      end

      private

      def paint(text, code)
        @colour && code ? "\e[#{code}m#{text}\e[0m" : text
      end

      def visible(text)
        text.gsub(/\e\[[0-9;]*m/, "")
      end
    end
  end
end
