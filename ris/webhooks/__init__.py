"""Webhooks: order and step status changes POSTed to the HIS, through the outbox.

`services` queues one message per change for each API client with a callback
URL, in the transaction of the change; `deliver` POSTs it, signed, and is the
deliver function of the "webhook" channel's dispatcher. docs/webhooks.md is
the receiver's side.
"""
