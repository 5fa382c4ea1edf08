"""Unified Procedure Step (PS3.4 Annex CC): workitems any system can push, claim and follow."""

# Every workitem is an instance of UPS Push, whichever UPS SOP class the
# request came on (PS3.4 CC.3.1).
UPS_PUSH_SOP_CLASS_UID = "1.2.840.10008.5.1.4.34.6.1"
# The well-known SOP instances to subscribe to (CC.3.1): every workitem, and
# those matching a filter.
GLOBAL_SUBSCRIPTION_UID = "1.2.840.10008.5.1.4.34.5"
FILTERED_GLOBAL_SUBSCRIPTION_UID = "1.2.840.10008.5.1.4.34.5.1"
