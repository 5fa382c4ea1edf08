"""On PostgreSQL, a notification on every change to the remote AEs, for the
DICOM service's directory of them (ris.nodes.directory)."""

from django.db import migrations

CREATE = """
CREATE FUNCTION nodes_remote_aes_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ris_outbox', 'remote_aes');
    RETURN NULL;
END $$;
CREATE TRIGGER nodes_remote_aes_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nodes_remoteae
    FOR EACH STATEMENT EXECUTE FUNCTION nodes_remote_aes_changed();
"""
DROP = """
DROP TRIGGER IF EXISTS nodes_remote_aes_changed ON nodes_remoteae;
DROP FUNCTION IF EXISTS nodes_remote_aes_changed();
"""


def run_on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("nodes", "0002_remoteae_forward_mpps")]

    operations = [migrations.RunPython(run_on_postgresql(CREATE), run_on_postgresql(DROP))]
