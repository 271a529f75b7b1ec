"""The record and assessment caches are bounded by the memory they hold, not only by count
(issue 11: each large record in the cache cost 160-360 MB)."""

from __future__ import annotations

from alscare.storage.cache import MODEL_BYTES_PER_JSON_BYTE, LruCache, model_bytes


def test_cache_drops_the_least_recently_used_until_within_its_bytes() -> None:
    cache: LruCache[str, str] = LruCache(max_size=100, max_bytes=1000)
    for key in "abcd":
        cache.put(key, key, cost=240)
    assert cache.get("a") == "a"  # now "b" is the least recently used
    cache.put("e", "e", cost=240)
    assert [cache.get(key) for key in "abcde"] == ["a", None, "c", "d", "e"]
    assert (len(cache), cache.cost) == (4, 960)


def test_cache_keeps_no_entry_larger_than_a_quarter_of_its_bytes() -> None:
    cache: LruCache[str, str] = LruCache(max_size=100, max_bytes=1000)
    cache.put("small", "s", cost=200)
    cache.put("large", "l", cost=251)
    assert (cache.get("small"), cache.get("large"), cache.cost) == ("s", None, 200)


def test_cache_put_again_counts_the_entry_once() -> None:
    cache: LruCache[str, str] = LruCache(max_size=100, max_bytes=1000)
    cache.put("a", "1", cost=100)
    cache.put("a", "2", cost=150)
    assert (cache.get("a"), len(cache), cache.cost) == ("2", 1, 150)


def test_the_estimate_of_a_model_grows_with_its_json() -> None:
    assert model_bytes(11 * 1024 * 1024) == 11 * 1024 * 1024 * MODEL_BYTES_PER_JSON_BYTE
