"""The portal (§5.5): the authorities' dashboard, supply statistics, enforcement ledgers,
and an enterprise's own home."""
