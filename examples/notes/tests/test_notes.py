"""The notes API, end to end on a real PostgreSQL: what a first Interlock suite looks like."""

from __future__ import annotations


def test_a_note_is_stored_and_read_back(api, db, slo):
    with slo("create_note"):
        created = api.post("/notes", json={"text": "hello"})
    assert created.status_code == 201
    note_id = created.json()["id"]
    assert db.one("SELECT text FROM notes WHERE id = %s", (note_id,))["text"] == "hello"
    assert api.get(f"/notes/{note_id}").json() == {"id": note_id, "text": "hello"}


def test_a_note_without_text_is_refused(api, db):
    before = db.count("notes")
    assert api.post("/notes", json={}).status_code == 422
    assert db.count("notes") == before
