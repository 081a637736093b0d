"""A notes API on PostgreSQL, standard library and psycopg only.

    python notes_app.py --port 8000     (DATABASE_URL names the database)

GET /health is 200 once the database answers; POST /notes {"text": ...} stores a note
(201 with its id, 422 without text); GET /notes/<id> reads it back (404 if unknown).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

DATABASE_URL = os.environ["DATABASE_URL"]


def connect() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=2)


def migrate() -> None:
    deadline = time.monotonic() + 10  # the database may still be starting
    while True:
        try:
            with connect() as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, text text)")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            try:
                with connect() as conn:
                    conn.execute("SELECT 1")
            except psycopg.OperationalError:
                self._answer(503, {"status": "database unavailable"})
                return
            self._answer(200, {"status": "ok"})
        elif self.path.startswith("/notes/") and self.path[7:].isdigit():
            with connect() as conn:
                row = conn.execute(
                    "SELECT id, text FROM notes WHERE id = %s", (int(self.path[7:]),)
                ).fetchone()
            if row is None:
                self._answer(404, {"error": "no such note"})
            else:
                self._answer(200, {"id": row[0], "text": row[1]})
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/notes":
            self._answer(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            text = json.loads(self.rfile.read(length) or b"{}").get("text")
        except (ValueError, AttributeError):
            text = None
        if not isinstance(text, str) or not text:
            self._answer(422, {"error": "text is required"})
            return
        with connect() as conn:
            row = conn.execute("INSERT INTO notes (text) VALUES (%s) RETURNING id", (text,))
            note_id = row.fetchone()[0]  # type: ignore[index]
        self._answer(201, {"id": note_id, "text": text})

    def log_message(self, format: str, *args: object) -> None:
        print(format % args, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    migrate()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
