"""O5: enterprise locations are stored as PostGIS geography beside their attributes."""
import pytest
from sqlalchemy import text


@pytest.mark.postgresql  # PostGIS columns exist on PostgreSQL only; SQLite keeps lon/lat
def test_distance_query_runs_in_the_database(app):
    from web.extensions import db

    with app.app_context():
        # Enterprises within 3 km of a point in 柯桥区 (120.49, 30.08), nearest first.
        rows = db.session.execute(text(
            "SELECT name, round(ST_Distance(geom, ST_SetSRID(ST_MakePoint(120.49, 30.08), 4326)::geography)) AS m "
            "FROM enterprises WHERE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(120.49, 30.08), 4326)::geography, 3000) "
            "ORDER BY m")).all()
        assert [r.name for r in rows] == ["柯桥区瓶装液化气供应有限公司", "柯桥天然气有限公司", "柯桥汽车加气站"]
        assert rows[0].m == 0 and 1000 < rows[1].m < 2000
        indexes = db.session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'enterprises'")).all()
        assert "ix_enterprises_geom" in indexes
