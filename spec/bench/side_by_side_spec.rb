# frozen_string_literal: true

require_relative "../../bench/peers/side_by_side"

# The side-by-side table bin/bench --peers prints: the last column must say how many times
# better tasker_core is whichever way a figure points (a latency or a cost is better lower,
# a throughput higher), or the table would report a loss as a win.
RSpec.describe Bench::Peers::SideBySide do
  let(:ours) do
    { "hop_latency_p50_ms" => 5.54, "hop_latency_p99_ms" => 12.7, "diamond_steps_per_s" => 613.0,
      "diamond_pg_cpu_ms_per_step" => 2.05, "diamond_transactions_per_step" => 1.84,
      "diamond_statements_per_step" => 3.3, "diamond_row_writes_per_step" => 20.0,
      "diamond_wal_records_per_step" => 40.0, "diamond_wal_bytes_per_step" => 4000.0, "idle_transactions_per_s" => 0.0 }
  end
  let(:theirs) do
    { "hop_c2_p50_ms" => 2.31, "hop_c2_p99_ms" => 9.26, "diamond_steps_per_s" => 729.0,
      "diamond_pg_cpu_ms_per_step" => 1.68, "diamond_transactions_per_step" => 4.8,
      "diamond_statements_per_step" => nil, "diamond_row_writes_per_step" => 10.0,
      "diamond_wal_records_per_step" => 30.0, "diamond_wal_bytes_per_step" => 3000.0, "idle_transactions_per_s" => 4.1 }
  end

  it "divides theirs by ours where lower is better and ours by theirs where higher is" do
    expect(described_class.advantage(5.54, 2.31, :lower)).to be_within(1e-9).of(2.31 / 5.54)
    expect(described_class.advantage(613.0, 729.0, :higher)).to be_within(1e-9).of(613.0 / 729.0)
    expect(described_class.advantage(1.84, 4.8, :lower)).to be > 1
  end

  it "says infinitely better for a zero cost of ours against theirs, and nothing it cannot know" do
    expect(described_class.advantage(0.0, 4.1, :lower)).to eq(Float::INFINITY)
    expect(described_class.advantage(0.0, 0.0, :lower)).to be_nil
    expect(described_class.advantage(nil, 1.0, :lower)).to be_nil
    expect(described_class.advantage(1.0, nil, :higher)).to be_nil
  end

  it "prints one markdown row per figure: theirs, ours, and the ratio" do
    rows = described_class.table(ours, theirs).lines.map(&:chomp)
    expect(rows.first).to eq("|  | graphile-worker | tasker_core | tasker_core better by (x, >1 = us) |")
    expect(rows[1]).to eq("| --- | --- | --- | --- |")
    expect(rows.drop(2)).to eq([
                                 "| hop p50, ms (theirs at concurrency 2) | 2.31 | 5.54 | 0.417 |",
                                 "| hop p99, ms (theirs at concurrency 2) | 9.26 | 12.7 | 0.729 |",
                                 "| diamond steps/s | 729 | 613 | 0.841 |",
                                 "| PostgreSQL CPU ms/step | 1.68 | 2.05 | 0.820 |",
                                 "| transactions/step | 4.80 | 1.84 | 2.61 |",
                                 "| statements/step | n/a | 3.30 | n/a |",
                                 "| rows written/step | 10.0 | 20.0 | 0.500 |",
                                 "| WAL records/step | 30.0 | 40.0 | 0.750 |",
                                 "| WAL bytes/step (a checkpoint starts the window) | 3000 | 4000 | 0.750 |",
                                 "| idle transactions/s | 4.10 | 0.000 | inf |"
                               ])
  end
end
