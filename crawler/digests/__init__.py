"""Daily digests: per recipient, at a local time, the stories that matched their digest rules.

Design (README "Daily digests"):

* **Periods.** A recipient's digest is due at ``digest_time`` in their ``timezone`` (per
  recipient, else per rule, else 07:00 UTC). The period of the digest sent on local date D runs
  from the digest time of D-1 to the digest time of D; its key is ``D`` (``YYYY-MM-DD``). Keys are
  local dates, so a DST change (a 23 h or 25 h period) or a changed digest_time never produces
  two digests for one day. A digest time that does not exist on a DST day (02:30 during a
  spring-forward gap) is read with the offset before the change; an ambiguous one is the first.
* **Ledger.** ``digests`` has one row per (recipient, period key): exactly one digest per
  recipient and period across restarts and processes. Opening a period claims its matched
  stories (``digest_items``) in the same transaction, so each story is in exactly one digest.
* **Catch-up.** Every ``digest_check_seconds`` (and 2 s after start-up) each recipient's periods
  that ended since their last ledger row are examined: a period that ended at most
  ``digest_grace_hours`` ago is sent now; an older one is recorded as ``missed`` and logged, and
  its stories go into the next digest. A recipient with no history starts with the latest period
  if it is within grace, else with the next one.
* **Empty periods.** ``digest_empty_policy``: ``skip`` records the period as ``skipped`` and
  sends nothing; ``nothing-new`` sends a short "nothing new" message.
* **Delivery** is the state machine instant alerts use too (crawler/delivery/machine.py): the
  row is claimed (``sending``, with an owner and a lease: one compare-and-set, so concurrent
  senders send it once; a dead owner's claim is taken over) before the message is composed and
  goes to the transport, ``sent`` after; temporary failures retry with
  backoff, permanent ones (or ``alert_max_attempts`` exhausted) are ``failed`` and release
  their stories to the next digest. The Message-ID is derived from (recipient, period), so
  the one duplicate window (a crash after the server accepted, before ``sent``) resends the
  *same* message.
* **Clock.** Everything takes ``now`` from an injectable clock. ``CHAVDER_CLOCK_OFFSET``
  (seconds, may be negative) shifts the digest clock of ``chavder run``/``chavder digest`` —
  a test hook, logged as a warning when set.
"""
from crawler.digests.periods import (CLOCK_OFFSET_ENV, Period, clock_from_env, digest_instant,
                                     latest_period, next_period, period_for, recent_periods)
from crawler.digests.recipients import DigestRecipient, digest_recipients, recipient_label
from crawler.digests.runner import (EMPTY_POLICIES, DigestOutcome, DigestPreview, DigestReport,
                                    Digests)

__all__ = ["CLOCK_OFFSET_ENV", "Period", "clock_from_env", "digest_instant", "latest_period",
           "next_period", "period_for", "recent_periods", "DigestRecipient",
           "digest_recipients", "recipient_label", "EMPTY_POLICIES", "DigestOutcome",
           "DigestPreview", "DigestReport", "Digests"]
