# frozen_string_literal: true

require "spec_helper"

RSpec.describe TaskerCore::Logging do
  let(:output) { StringIO.new }
  let(:logger) { described_class.logger("worker.linear_workflow") }

  before { described_class.output = output }

  after do
    described_class.output = StringIO.new
    described_class.level = "info"
  end

  def lines
    output.string.lines.map { |line| JSON.parse(line) }
  end

  it "writes one JSON object per line in the shared shape" do
    logger.info("worker started")
    entry = lines.last
    expect(entry.keys.first(4)).to eq(%w[ts level component msg])
    expect(entry).to include("level" => "INFO", "component" => "worker.linear_workflow", "msg" => "worker started")
    expect(entry["ts"]).to match(/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z/)
  end

  it "adds extra fields given as a Hash" do
    logger.warn(msg: "step failed", step_uuid: "u-1", attempt: 2, retryable: true, at: Time.utc(2026, 11, 23))
    expect(lines.last).to include("level" => "WARN", "msg" => "step failed", "step_uuid" => "u-1", "attempt" => 2,
                                  "retryable" => true, "at" => "2026-11-23T00:00:00.000Z")
  end

  it "does not let fields overwrite the standard keys" do
    logger.info(msg: "x", level: "FAKE", component: "other")
    expect(lines.last).to include("level" => "INFO", "component" => "worker.linear_workflow")
  end

  it "logs exceptions with class and backtrace" do
    error = begin
      raise ArgumentError, "bad"
    rescue ArgumentError => e
      e
    end
    logger.error(error)
    expect(lines.last).to include("level" => "ERROR", "msg" => "ArgumentError: bad", "error_class" => "ArgumentError")
    expect(lines.last["backtrace"]).to be_an(Array)
  end

  it "masks credentials in messages and fields" do
    logger.info("connecting to postgres://app:hunter2@db:5432/tasker")
    logger.info(msg: "retry", url: "postgresql://u:p%40ss@h/db", nested: { dsn: "host=h password=hunter2 user=u" })
    text = output.string
    expect(text).not_to include("hunter2")
    expect(text).not_to include("p%40ss")
    expect(lines[0]["msg"]).to eq("connecting to postgres://app:***@db:5432/tasker")
    expect(lines[1]["url"]).to eq("postgresql://u:***@h/db")
    expect(lines[1]["nested"]["dsn"]).to eq("host=h password=*** user=u")
  end

  it "filters by level, also for loggers created before the change" do
    logger.debug("hidden")
    described_class.level = "debug"
    logger.debug("shown")
    described_class.level = "error"
    logger.warn("hidden too")
    expect(lines.map { |l| l["msg"] }).to eq(["shown"])
    expect { described_class.level = "chatty" }.to raise_error(ArgumentError, /unknown log level/)
  end

  it "redirects loggers created before output= was called" do
    early = described_class.logger("early")
    other = StringIO.new
    described_class.output = other
    early.info("moved")
    expect(JSON.parse(other.string)["msg"]).to eq("moved")
  end

  it "returns one logger per component" do
    expect(described_class.logger("a")).to be(described_class.logger("a"))
    expect(described_class.logger("a")).not_to be(described_class.logger("b"))
  end

  describe ".mask_url" do
    it "masks any scheme://user:password@ in a string" do
      expect(described_class.mask_url("postgres://postgres:secret@localhost/db"))
        .to eq("postgres://postgres:***@localhost/db")
      expect(described_class.mask_url("a redis://:pw@cache:6379/0 and https://u:pw@x.io/p"))
        .to eq("a redis://:***@cache:6379/0 and https://u:***@x.io/p")
    end

    it "leaves strings without credentials alone" do
      ["postgres://postgres@localhost/db", "http://example.com:8080/x", "plain text", ""].each do |s|
        expect(described_class.mask_url(s)).to eq(s)
      end
      expect(described_class.mask_url(nil)).to be_nil
    end

    # The table the Rust core's masking::mask_credentials is checked against too.
    describe "the rule shared with the Rust core" do
      let(:cases) { JSON.parse(File.read(File.expand_path("../fixtures/credential_masking.json", __dir__))) }

      it "masks every case of spec/fixtures/credential_masking.json, leaving no secret" do
        expect(cases.size).to be >= 30
        cases.each do |c|
          masked = described_class.mask_url(c["input"])
          expect(masked).to eq(c["masked"]), "input: #{c['input'].inspect}, got #{masked.inspect}"
          c["secrets"].each { |secret| expect(masked).not_to include(secret), "#{secret} left in #{masked.inspect}" }
        end
      end

      it "changes nothing more when masking masked text" do
        cases.each { |c| expect(described_class.mask_url(c["masked"])).to eq(c["masked"]) }
      end
    end

    it "masks a string with invalid UTF-8 without raising, the bad bytes scrubbed first" do
      broken = "could not connect to postgres://u:Bad5ecret@h/db: \xC9chec \xFF password=x\xC3"
      expect(broken.valid_encoding?).to be(false)
      masked = described_class.mask_url(broken)
      expect(masked).to eq("could not connect to postgres://u:***@h/db: \uFFFDchec \uFFFD password=***")
      expect(masked.encoding).to eq(Encoding::UTF_8)
    end

    it "reads a binary string as UTF-8 bytes" do
      binary = "postgres://u:Bin5ecret@h/caf\u00e9 PGPASSWORD=Bin6ecret \xFF".b
      expect(binary.encoding).to eq(Encoding::BINARY)
      masked = described_class.mask_url(binary)
      expect(masked).to eq("postgres://u:***@h/caf\u00e9 PGPASSWORD=*** \uFFFD")
      expect(masked).to be_valid_encoding
    end

    it "transcodes other encodings, and never changes its argument" do
      utf16 = "postgres://u:Wide5ecret@h/db".encode(Encoding::UTF_16LE)
      expect(described_class.mask_url(utf16)).to eq("postgres://u:***@h/db")
      latin1 = "password=L\xE4tin1 host=h".dup.force_encoding(Encoding::ISO_8859_1)
      expect(described_class.mask_url(latin1)).to eq("password=*** host=h")
      frozen = "postgres://u:Frozen5ecret@h/db"
      expect(described_class.mask_url(frozen)).to eq("postgres://u:***@h/db")
      expect(frozen).to eq("postgres://u:Frozen5ecret@h/db")
    end

    it "returns anything that is not a String unchanged" do
      [nil, 42, :password, ["postgres://u:p@h"]].each { |value| expect(described_class.mask_url(value)).to be(value) }
    end

    it "keeps log lines writable when a message has invalid bytes" do
      logger.info("cannot reach postgres://u:Log5ecret@h/db: \xFF")
      expect(lines.last["msg"]).to eq("cannot reach postgres://u:***@h/db: \uFFFD")
    end
  end
end
