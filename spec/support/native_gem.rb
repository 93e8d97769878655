# frozen_string_literal: true

require "open3"

module TaskerSpec
  # The platform gem (`rake native:gem`), built at most once per rspec run: spec/gem checks
  # it, spec/rails installs it into a generated app, and neither packs it twice.
  module NativeGem
    module_function

    # pkg/tasker_core-VERSION-PLATFORM.gem, built on first use.
    def path
      @path ||= build
    end

    def build
      out, status = Open3.capture2e("rake", "native:gem", chdir: Database::ROOT)
      raise "rake native:gem failed:\n#{out}" unless status.success?

      file = File.join(Database::ROOT, "pkg", "tasker_core-#{TaskerCore::VERSION}-#{Gem::Platform.local}.gem")
      raise "rake native:gem did not write #{file}:\n#{out}" unless File.file?(file)

      file
    end
  end
end
