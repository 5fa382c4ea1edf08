"""The outbox: messages the RIS owes other systems, kept in the database until delivered.

A change and the messages it causes are written in one transaction (the
transactional outbox), so a message exists exactly when its change committed.
Dispatchers (`ris.outbox.dispatcher`) deliver them, per destination in the
order they were queued, and retry until each is delivered or cannot ever be.
"""
