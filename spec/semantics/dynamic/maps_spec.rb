# frozen_string_literal: true

require "spec_helper"

# Map steps through the embedded orchestrator and a real worker
# (spec/fixtures/templates/dynamic/map.yml: price maps over the items step's Array; total
# depends on price).
RSpec.describe "map steps" do
  def map_over(items)
    run_task("dynamic_workflows", "map", { "items" => items })
  end

  it "runs one item per element, each seeing step.item, step.index and step.map, and hands the Array on in index order" do
    items = ["apple", { "sku" => 7 }, 3, nil, "pear"]
    task = map_over(items)
    expect(task["state"]).to eq("complete")
    steps = task["steps"]
    items.each_with_index do |item, i|
      expect(steps["price[#{i}]"]).to include("state" => "complete", "type" => "map_item", "index" => i, "map" => "price")
      expect(steps["price[#{i}]"]["results"]).to eq("name" => "price[#{i}]", "type" => "map_item", "map" => "price",
                                                    "index" => i, "item" => item, "saw_items" => true)
    end
    expect(steps["price"]).to include("state" => "complete", "type" => "map")
    expect(steps["price"]).not_to include("index", "map")
    expect(steps["total"]["results"]).to eq("class" => "Array", "indexes" => (0...items.size).to_a, "items" => items)
  end

  it "completes a map over an empty Array at once with []" do
    task = map_over([])
    expect(task["state"]).to eq("complete")
    expect(task["steps"]["price"]["results"]).to eq([])
    expect(task["steps"]["total"]["results"]).to eq("class" => "Array", "indexes" => [], "items" => [])
  end

  it "fails the map step when the result it maps over is not an Array" do
    task = map_over({ "not" => "an array" })
    expect(task["state"]).to eq("error")
    expect(task["steps"]["price"]["state"]).to eq("error")
    expect(task["steps"]["price"]["error"]["message"]).to match(/array/i)
  end

  it "fails the map step (fail_fast) when an item fails for good" do
    task = map_over(%w[a fail b c d])
    expect(task["state"]).to eq("error")
    expect(task["steps"]["price[1]"]["state"]).to eq("error")
    expect(task["steps"]["price"]["state"]).to eq("error")
  end
end
