"""The APScheduler service only: schedules, health, shutdown (``service.py``), its jobs
(``jobs.py``), its run lock (``runlock.py``) and its commands, ``chavder run`` and ``status``
(``commands.py``). The domain (alerts, digests, mail, the store) lives in ``crawler/``."""
