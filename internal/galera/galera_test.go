package galera_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/twofa-go/twofa/internal/galera"
)

func TestMain(m *testing.M) { os.Exit(galera.Main(m)) }

var ctx = context.Background()

// nodes opens a handle on each node of a database of t's own.
func nodes(t *testing.T, params ...string) [galera.Nodes]*sql.DB {
	t.Helper()
	c := galera.Shared(t)
	var dbs [galera.Nodes]*sql.DB
	for i, dsn := range c.Database(t, params...) {
		dbs[i] = c.Open(t, dsn)
	}
	return dbs
}

// deadlock reports whether err is MariaDB's Error 1213, which is what a
// transaction that loses Galera's certification gets.
func deadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}

// A row written on one node is read on the others: the three are one
// cluster, not three servers.
func TestReplicates(t *testing.T) {
	dbs := nodes(t, "wsrep_sync_wait=1")
	if _, err := dbs[0].Exec("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for i, db := range dbs {
		if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", i, 10*i); err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	for i, db := range dbs {
		var n, sum int
		if err := db.QueryRow("SELECT COUNT(*), SUM(v) FROM t").Scan(&n, &sum); err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		if n != 3 || sum != 30 {
			t.Errorf("node %d sees %d rows summing to %d, want 3 and 30", i+1, n, sum)
		}
	}
	var size string
	if err := dbs[2].QueryRow("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE'").Scan(&size); err != nil {
		t.Fatal(err)
	}
	if size != "3" {
		t.Errorf("cluster size %s", size)
	}
}

// Two transactions on two nodes change one row: neither waits for the
// other (no lock spans nodes), the first to commit wins, and the other gets
// Error 1213 when it commits, or before, once the winner's write reaches
// its node. This is the failure every claim on the cluster must treat as a
// loss.
func TestCertificationLoser(t *testing.T) {
	c := galera.Shared(t)
	var dbs, synced [galera.Nodes]*sql.DB
	for i, dsn := range c.Database(t) {
		dbs[i], synced[i] = c.Open(t, dsn), c.Open(t, dsn+"&wsrep_sync_wait=1")
	}
	if _, err := dbs[0].Exec("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[0].Exec("INSERT INTO t VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		// Node 2 first applies the last round's winner: its applier would
		// otherwise abort the loser's update itself, not its COMMIT.
		var v int
		if err := synced[1].QueryRow("SELECT v FROM t WHERE id = 1").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if want := max(0, 2*round-1); v != want {
			t.Fatalf("round %d: node 2 reads %d, want the last winner's %d", round, v, want)
		}
		loser, err := dbs[1].BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The loser's update runs first, on its own node, and succeeds
		// there; nothing on node 2 knows of node 1's transaction yet.
		res, err := loser.Exec("UPDATE t SET v = ? WHERE id = 1", 2*round+2)
		if err != nil {
			t.Fatalf("round %d: loser's update: %v", round, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("round %d: loser's update changed %d rows", round, n)
		}
		winner, err := dbs[0].BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := winner.Exec("UPDATE t SET v = ? WHERE id = 1", 2*round+1); err != nil {
			t.Fatalf("round %d: winner's update: %v", round, err)
		}
		if err := winner.Commit(); err != nil {
			t.Fatalf("round %d: winner's commit: %v", round, err)
		}
		err = loser.Commit()
		if !deadlock(err) {
			t.Fatalf("round %d: loser's commit: %v, want Error 1213", round, err)
		}
		if err := synced[2].QueryRow("SELECT v FROM t WHERE id = 1").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != 2*round+1 {
			t.Fatalf("round %d: node 3 reads %d, want the winner's %d", round, v, 2*round+1)
		}
	}
}

// Thirty racers over the three nodes claim one row with a conditional
// UPDATE, as every single-use claim of the store does: a claim counts
// only when it changed one row and raised no error, and exactly one does,
// round after round. The driver's prepared statements (binary protocol)
// are not retried by the server (wsrep_retry_autocommit applies to the
// text protocol only), so losers see 1213 or a count of 0.
func TestRawClaimRace(t *testing.T) {
	c := galera.Shared(t)
	var dbs, synced [galera.Nodes]*sql.DB
	for i, dsn := range c.Database(t) {
		dbs[i], synced[i] = c.Open(t, dsn), c.Open(t, dsn+"&wsrep_sync_wait=1")
	}
	if _, err := dbs[0].Exec("CREATE TABLE codes (id INT PRIMARY KEY, used INT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	const racers, rounds = 30, 20
	var deadlocks atomic.Int32
	for round := range rounds {
		if _, err := dbs[0].Exec("INSERT INTO codes VALUES (?, 0)", round); err != nil {
			t.Fatal(err)
		}
		// Every node must have the row before the race, or a racer on a
		// node that has not would lose for a reason that is not the race.
		for i, db := range synced {
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM codes WHERE id = ?", round).Scan(&n); err != nil || n != 1 {
				t.Fatalf("node %d: row %d: %d, %v", i+1, round, n, err)
			}
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for r := range racers {
			db := dbs[r%galera.Nodes]
			wg.Go(func() {
				<-start
				res, err := db.Exec("UPDATE codes SET used = ? WHERE id = ? AND used = 0", r+1, round)
				if err != nil {
					if deadlock(err) {
						deadlocks.Add(1)
						return
					}
					t.Errorf("racer %d: %v", r, err)
					return
				}
				if n, err := res.RowsAffected(); err == nil && n == 1 {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d of %d racers won", round, n, racers)
		}
	}
	t.Logf("%d racers × %d rounds: %d certification losses (Error 1213)", racers, rounds, deadlocks.Load())
}
