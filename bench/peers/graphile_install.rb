# frozen_string_literal: true

require "digest"
require "fileutils"
require "open3"

module Bench
  module Peers
    # graphile-worker and the Node 22 it needs (the machine's node is older), from the npm
    # registry into a git-ignored cache, tmp/peers/graphile/: bench/peers/graphile/'s
    # package.json and package-lock.json pin the versions, and `npm ci` installs exactly
    # those. The scripts are copied next to node_modules on every call (so that their
    # imports resolve there); npm runs again only when the pinned files change.
    module GraphileInstall
      SOURCE = File.join(__dir__, "graphile")
      CACHE = File.expand_path("../../tmp/peers/graphile", __dir__)
      PINNED = %w[package.json package-lock.json].freeze
      STAMP = ".installed"
      NODE_MAJOR = "v22."

      module_function

      # Returns the path of the Node binary to run the scripts with.
      def install!
        FileUtils.mkdir_p(CACHE)
        npm_ci unless installed?
        Dir.glob(File.join(SOURCE, "*.mjs")).each { |script| FileUtils.cp(script, CACHE) }
        check_node!
        node
      end

      def node
        File.join(CACHE, "node_modules", ".bin", "node")
      end

      def installed?
        File.read(File.join(CACHE, STAMP)) == digest && File.executable?(node)
      rescue SystemCallError
        false
      end

      def npm_ci
        PINNED.each { |file| FileUtils.cp(File.join(SOURCE, file), CACHE) }
        output, status = Open3.capture2e("npm", "ci", "--no-audit", "--no-fund", chdir: CACHE)
        raise "npm ci in #{CACHE} failed:\n#{output}" unless status.success?

        File.write(File.join(CACHE, STAMP), digest)
      end

      def check_node!
        version, status = Open3.capture2(node, "--version")
        raise "#{node} is #{version.strip.inspect}, not Node 22" unless status.success? && version.start_with?(NODE_MAJOR)
      end

      def digest
        Digest::SHA256.hexdigest(PINNED.map { |file| File.read(File.join(SOURCE, file)) }.join("\0"))
      end
    end
  end
end
