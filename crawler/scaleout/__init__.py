"""Scale-out: crawl workers and one controller sharing a Redis frontier (``redis_url``)."""
