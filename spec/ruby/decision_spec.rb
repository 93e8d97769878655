# frozen_string_literal: true

require "spec_helper"

RSpec.describe TaskerCore::Decision do
  it "holds the chosen branches as frozen Strings, repeats once" do
    decision = described_class.run(:a, "c", :a)
    expect(decision.branches).to eq(%w[a c])
    expect(decision.branches).to be_frozen
    expect(decision.branches).to all(be_frozen)
    expect(decision).to be_frozen
    expect(decision.to_results).to eq("branches" => %w[a c])
    expect(decision).to eq(described_class.run("a", :c))
    expect(decision.none?).to be(false)
  end

  it "chooses nothing with none" do
    expect(described_class.none.branches).to eq([])
    expect(described_class.none.to_results).to eq("branches" => [])
    expect(described_class.none).to be_none
    expect(described_class.run).to eq(described_class.none)
  end

  it "refuses what is not a step name" do
    [1, nil, "B", "a-b", :"a b", ""].each do |bad|
      expect { described_class.run(:a, bad) }.to raise_error(ArgumentError, /step name/), bad.inspect
    end
  end
end
