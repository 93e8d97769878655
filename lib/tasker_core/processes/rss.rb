# frozen_string_literal: true

require "etc"

module TaskerCore
  module Processes
    # This process's resident memory, from /proc/self/statm (Linux); nil where there is none.
    module Rss
      STATM = "/proc/self/statm"

      module_function

      def bytes
        return nil unless File.readable?(STATM)

        resident_pages = Integer(File.read(STATM).split[1])
        resident_pages * page_size
      rescue StandardError
        nil
      end

      def page_size
        @page_size ||= (Etc.sysconf(Etc::SC_PAGESIZE) if defined?(Etc::SC_PAGESIZE)) || 4096
      end
    end
  end
end
