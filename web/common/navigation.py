"""What the menu in base.html needs beyond the rights: the enforcement ledgers, by their labels."""
from flask import url_for

from web.common.labels import LEDGER_LABELS


def register(app) -> None:
    @app.context_processor
    def navigation_in_templates():
        def ledger_menu():
            return [(url_for("ledger.index", key=key), label, f"nav-ledger-{key}", "")
                    for key, label in LEDGER_LABELS.items()]

        return {"ledger_menu": ledger_menu}
