"""A recorder database made with Home Assistant's own schema, for tests that read one."""

from __future__ import annotations

from pathlib import Path

from homeassistant.components.recorder.db_schema import Base, States, StatesMeta
from sqlalchemy import create_engine
from sqlalchemy.orm import Session


def write_recorder_rows(db: Path, rows: list[tuple[str, float]]) -> None:
    """Add `states` rows (entity id, last_updated_ts) to a database with the recorder's schema."""
    engine = create_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        metas = {str(meta.entity_id): meta for meta in session.query(StatesMeta).all()}
        for entity_id, updated in rows:
            if entity_id not in metas:
                metas[entity_id] = StatesMeta(entity_id=entity_id)
                session.add(metas[entity_id])
                session.flush()
            meta_id = metas[entity_id].metadata_id
            session.add(States(metadata_id=meta_id, state="1.0", last_updated_ts=updated))
        session.commit()
    engine.dispose()
