"""Scale-out: crawl workers on a shared Redis frontier, one controller (issue 21).

With ``redis_url`` set, ``chavder run`` is the *controller* (it schedules sources by putting
crawl jobs on the frontier, matches alerts and delivers alerts and digests — the one writer of
the ledgers) and any number of ``chavder worker`` processes, on one machine or many, take jobs
and article URLs from the frontier, fetch, extract and write to the shared store.

* :mod:`crawler.scaleout.connection` — the client and outage logging (the ``redis_url``
  check is :mod:`crawler.redisurl`, free of imports, for the settings loader);
* :mod:`crawler.scaleout.frontier` — the frontier: Redis Streams with consumer groups (jobs and
  article URLs), job accounting, redelivery of a dead worker's entries;
* :mod:`crawler.scaleout.lease` — the controller lease (one controller per frontier);
* :mod:`crawler.scaleout.crawlstate` — HTTP validators and per-URL back-off in Redis;
* :mod:`crawler.scaleout.spiders` — the worker's spiders (index crawls, article fetches);
* :mod:`crawler.scaleout.worker` — ``chavder worker``; :mod:`crawler.scaleout.controller` —
  what the service does differently as controller.

Nothing here is imported when ``redis_url`` is empty: the embedded default is unchanged.
"""
