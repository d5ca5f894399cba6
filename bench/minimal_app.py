"""The floor for `/healthz`: a minimal Flask app whose one route does `SELECT 1` through
SQLAlchemy on `DATABASE_URL`, served by bench/mixed.py under the same gunicorn settings as
ours. Our `/healthz` time divided by this one's is what the project adds to every request.

    gunicorn --workers 4 'bench.minimal_app:app'   # with DATABASE_URL set
"""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"])
app = Flask(__name__)


@app.get("/healthz")
def healthz() -> Response:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar_one()
    return jsonify(status="ok", database="ok")
