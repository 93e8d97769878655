# frozen_string_literal: true

module TaskerCore
  class Config
    # A copy of the Rust core's orchestrator settings, for processes that load only the
    # pure-Ruby client (lib/tasker_core/pure.rb, no native extension). The core owns them
    # (ext/tasker_orchestration/src/config.rs); spec/native/orchestrator_settings_spec.rb
    # fails when this copy drifts and prints the text to paste here, which is
    # `JSON.pretty_generate(JSON.parse(TaskerCore::Native._orchestrator_settings_private))`.
    ORCHESTRATOR_SETTINGS_COPY = <<~'JSON'
      {
        "poll_interval_ms": {
          "default": 50,
          "type": "integer",
          "minimum": 1,
          "maximum": 18446744073709551615,
          "doc": "Sleep between reads of an empty queue (without `listen`)."
        },
        "visibility_timeout_s": {
          "default": 30,
          "type": "integer",
          "minimum": 1,
          "maximum": 2147483647,
          "doc": "How long a read message stays invisible to other orchestrators."
        },
        "batch_size": {
          "default": 50,
          "type": "integer",
          "minimum": 1,
          "maximum": 2147483647,
          "doc": "Messages read at once: step results applied, plain task requests created, in one transaction per batch."
        },
        "request_concurrency": {
          "default": 4,
          "type": "integer",
          "minimum": 1,
          "maximum": 18446744073709551615,
          "doc": "Task requests that are not plain (delayed, rejected, repeated...) handled at once, each on its own connection (at most `max_connections - 2`)."
        },
        "shutdown_timeout_ms": {
          "default": 10000,
          "type": "integer",
          "minimum": 0,
          "maximum": 18446744073709551615,
          "doc": "How long stop waits for in-flight messages before aborting the loops."
        },
        "max_message_bytes": {
          "default": 1048576,
          "type": "integer",
          "minimum": 1,
          "maximum": 18446744073709551615,
          "doc": "Largest payload (a request's context, a step's results) in bytes; a message may exceed it by the envelope allowance."
        },
        "max_connections": {
          "default": 8,
          "type": "integer",
          "minimum": 2,
          "maximum": 4294967295,
          "doc": "Size of the orchestrator's connection pool (the results loop and the wake-up listener take one each)."
        },
        "connect_timeout_ms": {
          "default": 10000,
          "type": "integer",
          "minimum": 1,
          "maximum": 18446744073709551615,
          "doc": "How long a start (or an operator action) keeps trying to connect while the server refuses connections, before it fails with the reason."
        },
        "max_reads": {
          "default": 5,
          "type": "integer",
          "minimum": 1,
          "maximum": 2147483647,
          "doc": "A message read this many times without being processed is set aside as poison."
        },
        "listen": {
          "default": true,
          "type": "boolean",
          "minimum": null,
          "maximum": null,
          "doc": "Wake on LISTEN/NOTIFY; false behind a transaction-mode pooler (no LISTEN there), loops then poll every `poll_interval_ms`."
        },
        "fallback_poll_ms": {
          "default": 30000,
          "type": "integer",
          "minimum": 1,
          "maximum": 18446744073709551615,
          "doc": "With `listen`, an idle loop still reads this often: notifications can be lost (and every loop is woken after the listener reconnects, so this is a last resort)."
        },
        "archive_retention_hours": {
          "default": 168,
          "type": "integer",
          "minimum": 0,
          "maximum": 18446744073709551615,
          "doc": "Archived messages and dead letters older than this are deleted (0: kept forever)."
        },
        "maintenance_interval_s": {
          "default": 600,
          "type": "integer",
          "minimum": 1,
          "maximum": 18446744073709551615,
          "doc": "How often old archives are pruned."
        },
        "vacuum_interval_s": {
          "default": 10,
          "type": "integer",
          "minimum": 0,
          "maximum": 18446744073709551615,
          "doc": "How often, while idle, bloated queue and step tables are looked for and vacuumed (every second while messages flow; 0: left to autovacuum alone)."
        }
      }
    JSON
  end
end
