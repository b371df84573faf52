local ath = require("athanor")
local orm = require("athanor.orm")
local errors = ath.errors
local fixtures = require("spec.orm.fixtures")

local fx = fixtures.new(function(Base)
  return {
    Note = Base:model("Note", {
      __tablename = "ses_notes",
      id = ath.Column(ath.Integer, { primary_key = true }),
      title = ath.Column(ath.String(50)),
      body = ath.Column(ath.Text),
    }),
  }
end)

describe("Session object management", function()
  local Note, s, note
  before_each(function()
    fx.open()
    Note, s = fx.models.Note, fx.session
    note = Note{ title = "t", body = "b" }
    s:add(note)
    s:commit()
    assert.equal("t", note.title)
  end)
  after_each(fx.close)

  -- Change the row behind the session's back (through its own connection:
  -- SQLite allows one writer).
  local function change_row(values)
    s:connection():execute(ath.update(Note.__table__):where(Note.id:eq(note.id)):values(values))
  end

  it("refresh() reloads every attribute now, dropping unflushed changes", function()
    note.title = "local"
    change_row({ body = "db" })
    s:refresh(note)
    assert.equal("t", rawget(note, "title"))
    assert.equal("db", rawget(note, "body"))
    assert.is_false(s:is_modified(note))
  end)

  it("expire(obj, attrs) reloads only the named attributes on access", function()
    change_row({ title = "T2", body = "B2" })
    s:expire(note, { "title" })
    assert.same({ "title" }, orm.inspect(note).expired)
    assert.equal("b", rawget(note, "body"))
    assert.equal("T2", note.title)
    assert.same({}, orm.inspect(note).expired or {})
    local err = select(2, pcall(s.expire, s, note, { "titel" }))
    assert.is_true(errors.is(err, "ArgumentError"))
    assert.matches("Note has no attribute 'titel'", tostring(err), 1, true)
  end)

  it("an assignment to an expired attribute is written at flush", function()
    s:expire(note)
    note.title = "assigned"
    fx.reset_sql()
    s:commit()
    assert.equal(1, #fx.statements("UPDATE"))
    assert.equal("assigned", s:query(Note.title):scalar())
  end)

  it("expunge_all() and close() detach every object, and the session is usable again", function()
    s:expunge_all()
    assert.equal("detached", orm.inspect(note).state)
    local again = s:get(Note, note.id)
    assert.are_not.equal(note, again)
    s:add(Note{ title = "pending" })
    s:close()
    assert.equal("detached", orm.inspect(again).state)
    assert.equal(1, fx.count("ses_notes"))
    assert.equal(1, s:query(Note):count())
  end)

  it("re-adding a detached object makes it persistent in the new session", function()
    s:close()
    local s2 = fx.Session()
    s2:add(note)
    assert.equal("persistent", orm.inspect(note).state)
    assert.equal(note, s2:get(Note, note.id))
    assert.equal("t", note.title)                   -- expired at commit: loaded through s2
    s2:close()
  end)
end)
