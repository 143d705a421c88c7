"""fabric.py: a fabric for lossless.py's fabmond runs, made of blast's
agents, and a week of synthetic history for it in fabmond's own database.

topology() is what PUT /topology/json takes (daemon/API.md): blast's 50
agents (bench/gen.h: 10.99.0.1 to 10.99.0.50, ifIndex 1..48) as 4 spines
and 46 leaves, each leaf's swp1..swp4 wired to the spines (184 links).
fabmond then maps blast's counter samples to links, and its history
thread writes link minutes to the store, as it does on a real fabric.

The same functions take the size of a larger fabric (bench/scale.py:
1,000 agents x 64 ports as 60 spines and 940 leaves): names(agents,
spines), links(agents, spines, uplinks) and topology(agents, ports,
spines, uplinks). With `uplinks` below `spines` each leaf has that many
uplinks (swp1..swpU), leaf k's uplink j going to spine (U*k + j) mod
spines, on the spine's next free port; the default (every leaf to every
spine) is the 50-agent fabric above. The leaves' other ports are edge
ports (no link, no switch behind them).

prefill() writes, into a database that fabmond created and closed (the
schema is fabmond's, docs/STORE.md), the links of topology() and a week of
history for them: a link_minute row per link, direction and minute, the
hourly link_hour rollups, and the 10 top flows per minute fabric-wide
(top_minute, scope "edge"), as the history thread would have written them
over 7 days. rollup_next is set past the filled hours, so that the store
does not roll them up again during the benchmark, and the rows start an
hour inside the 7-day retention, so that retention deletes none of them
while it runs. The history queries of the "history queries" mode then
read 20,000 minute rows per link and 100,000 top-flow rows.

Python 3 standard library only.
"""

import sqlite3
import time

AGENTS = 50
PORTS = 48
SPINES = 4


def agent_address(a):
    """blast's agent a (1-based) as gen.c numbers it: 10.99.0.0 + a."""
    return "10.99.%d.%d" % (a >> 8, a & 255)


def names(agents=AGENTS, spines=SPINES):
    """[(node, agent address)] of blast's agents: spines first."""
    out = []
    for a in range(1, agents + 1):
        n = "spine%02d" % a if a <= spines else "leaf%02d" % a
        out.append((n, agent_address(a)))
    return out


def links(agents=AGENTS, spines=SPINES, uplinks=None, ports=None):
    """[(name, node1, port1, node2, port2)]: leaf uplinks to the spines
    (to each of them unless `uplinks` is smaller). With `ports`, a spine
    that would need more ports than that is an error."""
    nodes = names(agents, spines)
    sp, leaves = nodes[:spines], nodes[spines:]
    u_n = spines if uplinks is None else uplinks
    used = [0] * spines
    out = []
    for k, (leaf, _) in enumerate(leaves):
        for u in range(u_n):
            s = u if u_n == spines else (u_n * k + u) % spines
            used[s] += 1
            if ports is not None and used[s] > ports:
                raise ValueError("spine %s needs more than %d ports"
                                 % (sp[s][0], ports))
            p1, p2 = "swp%d" % (u + 1), "swp%d" % used[s]
            out.append(("%s:%s-%s:%s" % (leaf, p1, sp[s][0], p2), leaf, p1,
                        sp[s][0], p2))
    return out


def topology(agents=AGENTS, ports=PORTS, spines=SPINES, uplinks=None):
    """The PUT /topology/json document for blast's agents."""
    nodes = {}
    for n, agent in names(agents, spines):
        nodes[n] = {"agent": agent,
                    "ports": {"swp%d" % i: {"ifindex": str(i)}
                              for i in range(1, ports + 1)}}
    return {"nodes": nodes,
            "links": {name: {"node1": n1, "port1": p1, "node2": n2,
                             "port2": p2}
                      for name, n1, p1, n2, p2 in links(agents, spines,
                                                        uplinks, ports)}}


def prefill(db, days=7, now=None):
    """Fills db (fabmond's schema, fabmond stopped) with `days` of
    history for links(). Returns {"linkMinutes", "linkHours", "topRows",
    "links", "from", "to", "seconds", "bytes"}."""
    t0 = time.monotonic()
    now = int(time.time()) if now is None else int(now)
    # One to two hours inside the retention; up to the last whole minute.
    start = (now - days * 86400) // 3600 * 3600 + 2 * 3600
    end = now // 60 * 60
    # The first hour the store's rollup has not done (store.c: an hour is
    # complete 120 s after it ends).
    rollup_next = (now - 120) // 3600 * 3600
    c = sqlite3.connect(db)
    try:
        c.execute("PRAGMA synchronous = OFF")
        cols = [r[1] for r in c.execute("PRAGMA table_info(links)")]
        ms = now * 1000
        for i, (name, n1, p1, n2, p2) in enumerate(links()):
            row = {"id": i + 1, "name": name, "node1": n1, "port1": p1,
                   "node2": n2, "port2": p2, "status": "up",
                   "source": "import", "in_topology": 1,
                   "first_seen": start * 1000, "updated": ms}
            use = [k for k in cols if k in row]
            c.execute("INSERT INTO links (%s) VALUES (%s)" % (
                ",".join(use), ",".join("?" * len(use))),
                [row[k] for k in use])
        # The time indexes are dropped and made again after the inserts
        # (from sqlite_master, so exactly as fabmond made them): sorting
        # once is much faster than inserting into them out of order.
        idx = c.execute("SELECT sql FROM sqlite_master WHERE type = 'index'"
                        " AND tbl_name IN ('link_minute', 'link_hour', "
                        "'top_minute') AND sql IS NOT NULL").fetchall()
        for (sql,) in idx:
            c.execute("DROP INDEX %s" % sql.split()[2])
        # In key order, so that the WITHOUT ROWID tables only append.
        c.execute(
            "WITH RECURSIVE m(t) AS (SELECT ?1 UNION ALL SELECT t + 60 "
            "FROM m WHERE t + 60 < ?2), d(dir) AS (VALUES (0), (1)) "
            "INSERT INTO link_minute SELECT l.id, m.t, d.dir, "
            "(abs(random()) % 100000000) * 600.0, "
            "(abs(random()) % 100000) * 600.0, 0.0, 0.0, "
            "(abs(random()) % 9000) / 100.0, 1e11, 'sflow' "
            "FROM links l, m, d ORDER BY l.id, m.t, d.dir", (start, end))
        c.execute(
            "WITH RECURSIVE h(t) AS (SELECT ?1 UNION ALL SELECT t + 3600 "
            "FROM h WHERE t + 3600 < ?2), d(dir) AS (VALUES (0), (1)) "
            "INSERT INTO link_hour SELECT l.id, h.t, d.dir, "
            "(abs(random()) % 100000000) * 36000.0, "
            "(abs(random()) % 100000) * 36000.0, 0.0, 0.0, "
            "(abs(random()) % 9000) / 100.0, 1e11, 'sflow', 60 "
            "FROM links l, h, d ORDER BY l.id, h.t, d.dir",
            (start, rollup_next))
        # 10 flows a minute out of 2,000, so that summing them over a
        # week groups 100,000 rows into 2,000 flows.
        c.execute(
            "WITH RECURSIVE m(t) AS (SELECT ?1 UNION ALL SELECT t + 60 "
            "FROM m WHERE t + 60 < ?2), r(k) AS (VALUES (1), (2), (3), "
            "(4), (5), (6), (7), (8), (9), (10)), "
            "f AS (SELECT m.t AS t, r.k AS k, abs(random()) % 2000 AS x "
            "FROM m, r) "
            "INSERT INTO top_minute SELECT 'edge', t, k, "
            "'ipsource,ipdestination,ipprotocol', "
            "printf('10.%d.%d.%d,10.128.%d.%d,%d', x % 16, x % 251, "
            "x % 241, x % 37, x % 233, CASE WHEN x % 7 = 0 THEN 17 "
            "ELSE 6 END), (abs(random()) % 1000000) * 10000.0, "
            "(abs(random()) % 1000000) * 10.0 FROM f ORDER BY t, k",
            (start, end))
        for (sql,) in idx:
            c.execute(sql)
        c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES "
                  "('rollup_next', ?)", (rollup_next,))
        c.commit()
        out = {
            "linkMinutes": c.execute(
                "SELECT count(*) FROM link_minute").fetchone()[0],
            "linkHours": c.execute(
                "SELECT count(*) FROM link_hour").fetchone()[0],
            "topRows": c.execute(
                "SELECT count(*) FROM top_minute").fetchone()[0],
            "links": len(links()), "from": start, "to": end,
        }
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        out["bytes"] = c.execute(
            "SELECT page_count * page_size FROM pragma_page_count(), "
            "pragma_page_size()").fetchone()[0]
    finally:
        c.close()
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out
