# frozen_string_literal: true

# The app's own table: what handlers read and write through ActiveRecord.
class CreateOrders < ActiveRecord::Migration[6.1]
  def change
    create_table :orders do |t|
      t.string :number, null: false, index: { unique: true }
      t.integer :total_cents, null: false, default: 0
      t.string :state, null: false, default: "new"
      t.timestamps
    end
  end
end
