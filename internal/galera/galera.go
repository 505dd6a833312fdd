// Package galera starts a throw-away three-node MariaDB Galera cluster on
// 127.0.0.1 for tests: the multi-primary case, where three application
// servers each write to a node of their own and the cluster, not a lock,
// decides which of two conflicting writes stands.
//
// It needs Debian's mariadb-server, galera-4 and rsync (the joiners copy
// the first node's data with rsync). Without them a test is skipped on a
// developer's machine and fails when CI=true, as internal/testdb does for
// PostgreSQL.
//
// Ports are this package's own: SQL 23471-23473, group communication
// 24471-24473, incremental state transfer 24571-24573 and rsync state
// transfer 24581-24583, all below Linux's range of outgoing local ports
// (32768-60999), where a test's own connection could hold one at start.
// So only one cluster runs on a machine at a time:
// a test package starts it once ([Shared], stopped by [Main]) and its tests
// share it, each in a database of its own ([Cluster.Database]).
//
// The servers never outlive the test binary: each is stopped by [Main],
// by the cleanup of the test that started it ([Start]), on SIGINT or
// SIGTERM, and, when the binary dies without running any of those (a
// panic, a timeout, SIGKILL), by the kernel, which kills them as their
// parent goes (PR_SET_PDEATHSIG). That signal is SIGKILL, not SIGTERM: a
// joiner blocks SIGTERM until its state transfer is done, and waits for
// ever for a donor that has gone. The data folder such a death leaves in
// /tmp is removed by the next start. Only the processes this package
// started are ever signalled, by their pid.
package galera

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Nodes is the number of nodes in a cluster.
const Nodes = 3

// The ports of node i (0, 1, 2) are these plus i.
const (
	SQLPort   = 23471
	GcommPort = 24471
	ISTPort   = 24571
	SSTPort   = 24581
)

// The database account the application uses on every node.
const (
	appUser     = "twofa"
	appPassword = "twofapass"
)

// Provider is where Debian's galera-4 puts the library the servers load.
const Provider = "/usr/lib/galera/libgalera_smm.so"

// startWait bounds each step of a start-up: a node answering, a node in
// sync. A cold start takes 11 to 17 s in all on a 2-core machine.
const startWait = 90 * time.Second

// stopWait is how long a node has to stop after SHUTDOWN or SIGTERM before
// it gets SIGKILL.
const stopWait = 30 * time.Second

// Cluster is a running three-node cluster.
type Cluster struct {
	dir   string
	nodes [Nodes]*node
	// Took is how long the start took, from the first data folder to the
	// third node in sync.
	Took time.Duration

	// mu orders a start's launches and a Stop from another goroutine (a
	// signal): a node launches only while the cluster is not stopped.
	mu      sync.Mutex
	stopped bool

	stopOnce sync.Once
	stopErr  error
}

// live are the clusters started and not yet stopped, for the signal
// handler.
var live struct {
	sync.Mutex
	m map[*Cluster]bool
}

type node struct {
	name string
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done closes
}

// tools are the programs a start needs.
type tools struct {
	mariadbd, installDB string
}

// find returns the programs, or an error naming what is missing.
func find() (tools, error) {
	look := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		// mariadbd is in /usr/sbin, not on every user's PATH.
		for _, d := range []string{"/usr/sbin", "/usr/bin"} {
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found", name)
	}
	var tl tools
	var errs []error
	var err error
	if tl.mariadbd, err = look("mariadbd"); err != nil {
		errs = append(errs, err)
	}
	if tl.installDB, err = look("mariadb-install-db"); err != nil {
		errs = append(errs, err)
	}
	if _, err := look("rsync"); err != nil {
		errs = append(errs, err)
	}
	if _, err := os.Stat(Provider); err != nil {
		errs = append(errs, fmt.Errorf("galera provider %s not found", Provider))
	}
	if err := errors.Join(errs...); err != nil {
		return tools{}, fmt.Errorf("%w (apt-get install mariadb-server galera-4 rsync)", err)
	}
	return tl, nil
}

// need skips t when the programs are missing, or fails it when CI=true.
func need(t testing.TB) tools {
	t.Helper()
	tl, err := find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("galera: %v; CI must install them (.ci/run)", err)
		}
		t.Skipf("galera: %v", err)
	}
	return tl
}

// Start starts a cluster for t alone, stopped when t ends. Most tests
// want [Shared], which starts one for the whole package.
func Start(t testing.TB) *Cluster {
	t.Helper()
	tl := need(t)
	stopOnSignal()
	c, err := startAgain(tl)
	if c != nil {
		t.Cleanup(func() {
			if err := c.Stop(); err != nil {
				t.Errorf("galera: stop: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("galera: %v", err)
	}
	return c
}

// The package's shared cluster.
var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Shared returns the test package's one cluster, started by the first test
// that asks for it. [Main] stops it after the last test; a package using
// Shared must have a TestMain calling Main.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	tl := need(t)
	shared.once.Do(func() {
		stopOnSignal()
		shared.c, shared.err = startAgain(tl)
	})
	if shared.err != nil {
		t.Fatalf("galera: %v", shared.err)
	}
	return shared.c
}

// Main runs the package's tests and then stops the shared cluster, if one
// was started: TestMain calls os.Exit(galera.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if c := shared.c; c != nil {
		t0 := time.Now()
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "galera: stop: %v\n", err)
			if code == 0 {
				code = 1
			}
		} else if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "galera: cluster started in %v, stopped in %v\n",
				c.Took.Round(10*time.Millisecond), time.Since(t0).Round(10*time.Millisecond))
		}
	}
	return code
}

// stopOnSignal stops every cluster, started or starting, on SIGINT or
// SIGTERM, then exits, as the signal would have. (SIGKILL and crashes
// leave it to the kernel's parent-death signal.)
var stopOnSignal = sync.OnceFunc(func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-ch
		fmt.Fprintf(os.Stderr, "galera: %v: stopping the cluster\n", s)
		live.Lock()
		var cs []*Cluster
		for c := range live.m {
			cs = append(cs, c)
		}
		live.Unlock()
		for _, c := range cs {
			if err := c.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "galera: stop: %v\n", err)
			}
		}
		os.Exit(2)
	}()
})

// startAgain is start, tried once more if it fails: a node may lose one
// of its ports to another program's connection between portsFree and its
// own bind (see portsFree).
func startAgain(tl tools) (*Cluster, error) {
	c, err := start(tl)
	if err == nil {
		return c, nil
	}
	fmt.Fprintf(os.Stderr, "galera: start failed, trying once more: %v\n", err)
	c, err2 := start(tl)
	if err2 != nil {
		return nil, errors.Join(err, err2)
	}
	return c, nil
}

// start makes the data folders and starts the three nodes one after the
// other, each joining once the one before is in sync. On error it stops
// whatever it started and returns the nodes' logs in the error.
func start(tl tools) (c *Cluster, err error) {
	t0 := time.Now()
	if err := portsFree(); err != nil {
		return nil, err
	}
	removeStale()
	// Every parent of a data folder must be traversable by the server's
	// user: a folder straight under /tmp is, t.TempDir()'s are not.
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c = &Cluster{dir: dir}
	for i := range Nodes {
		name := "node" + strconv.Itoa(i+1)
		c.nodes[i] = &node{name: name, dir: filepath.Join(dir, name), port: SQLPort + i}
	}
	live.Lock()
	if live.m == nil {
		live.m = map[*Cluster]bool{}
	}
	live.m[c] = true
	live.Unlock()
	defer func() {
		if err != nil {
			logs := c.logs()
			if serr := c.Stop(); serr != nil {
				err = errors.Join(err, serr)
			}
			err = fmt.Errorf("%w\n%s", err, logs)
			c = nil
		}
	}()
	run, err := runAs()
	if err != nil {
		return c, err
	}
	if run != nil {
		if err := os.Chown(dir, int(run.Uid), int(run.Gid)); err != nil {
			return c, err
		}
		if err := os.Chmod(dir, 0o750); err != nil {
			return c, err
		}
	}
	userName := currentUser()
	if run != nil {
		userName = "mysql"
	}
	for i, n := range c.nodes {
		if err := n.prepare(i, userName, run); err != nil {
			return c, err
		}
	}
	// Only the first node needs a system database: the joiners get the
	// first node's files by rsync before they open any.
	if out, err := exec.Command(tl.installDB, "--no-defaults", "--user="+userName,
		"--datadir="+c.nodes[0].data(), "--auth-root-authentication-method=normal",
		"--skip-test-db", "--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M").CombinedOutput(); err != nil {
		return c, fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*startWait)
	defer cancel()
	for i, n := range c.nodes {
		args := []string{"--defaults-file=" + n.cnf()}
		if i == 0 {
			args = append(args, "--wsrep-new-cluster")
		}
		if err := c.launch(n, tl.mariadbd, args, run); err != nil {
			return c, err
		}
		if err := n.waitSynced(ctx); err != nil {
			return c, err
		}
		if i == 0 {
			// The account and the database replicate to each joiner.
			if err := n.root(ctx,
				"CREATE USER '"+appUser+"'@'%' IDENTIFIED BY '"+appPassword+"'",
				"GRANT ALL PRIVILEGES ON *.* TO '"+appUser+"'@'%'",
				"CREATE DATABASE twofa"); err != nil {
				return c, err
			}
		}
	}
	for _, n := range c.nodes {
		var name, size string
		if err := n.query(ctx, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'", &name, &size); err != nil {
			return c, err
		}
		if size != strconv.Itoa(Nodes) {
			return c, fmt.Errorf("%s sees a cluster of %s nodes", n.name, size)
		}
	}
	c.Took = time.Since(t0)
	return c, nil
}

// dirPrefix names the data folders in the temporary directory; ownerFile
// in each holds the pid of the test binary that made it.
const (
	dirPrefix = "twofa-galera-"
	ownerFile = "owner.pid"
)

// removeStale removes the data folders of clusters whose test binary died
// without stopping them (the kernel killed the servers with it). A folder
// whose owner still runs is left alone.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue // not ours, or still being made
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			continue // alive (or its pid reused: leave it, to be safe)
		}
		os.RemoveAll(d)
	}
}

// portsWait bounds the wait for a taken port to come free.
const portsWait = 30 * time.Second

// portsFree fails when a port the cluster needs stays taken, as by a
// cluster another test binary is running: before anything starts, with a
// message that says which. The ports are in Linux's range of ephemeral
// ports, so a short-lived connection of anything on the machine may hold
// one for a moment: it waits up to portsWait for each.
func portsFree() error {
	deadline := time.Now().Add(portsWait)
	for i := range Nodes {
		for _, p := range []int{SQLPort + i, GcommPort + i, ISTPort + i, SSTPort + i} {
			for {
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
				if err == nil {
					l.Close()
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("port %d is taken (another cluster running?): %w", p, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	return nil
}

// runAs returns the credentials the servers run with: the mysql user when
// the test runs as root (mariadbd refuses root, and rsync state transfer
// breaks under it), nil (the current user) otherwise.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("mysql")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the mysql user (from mariadb-server): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

func (n *node) cnf() string  { return filepath.Join(n.dir, "my.cnf") }
func (n *node) data() string { return filepath.Join(n.dir, "data") }
func (n *node) sock() string { return filepath.Join(n.dir, "mysql.sock") }

// prepare writes node i's folder and configuration.
func (n *node) prepare(i int, userName string, run *syscall.Credential) error {
	for _, d := range []string{n.dir, n.data(), filepath.Join(n.dir, "tmp")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return err
		}
		if run != nil {
			if err := os.Chown(d, int(run.Uid), int(run.Gid)); err != nil {
				return err
			}
		}
	}
	var members []string
	for j := range Nodes {
		members = append(members, "127.0.0.1:"+strconv.Itoa(GcommPort+j))
	}
	cnf := fmt.Sprintf(`[mariadbd]
user=%[1]s
datadir=%[2]s
socket=%[3]s
pid-file=%[4]s/mariadbd.pid
log-error=%[4]s/error.log
tmpdir=%[4]s/tmp
port=%[5]d
bind-address=127.0.0.1
skip-name-resolve
# Small and throw-away: nothing here has to survive a crash.
innodb_buffer_pool_size=32M
innodb_log_file_size=8M
innodb_log_buffer_size=4M
innodb_flush_log_at_trx_commit=2
innodb_doublewrite=0
key_buffer_size=1M
aria_pagecache_buffer_size=8M
# Racing tests hold dozens of connections on each node.
max_connections=300
table_open_cache=400
# Galera
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=%[6]s
wsrep_cluster_name=twofa_test
wsrep_cluster_address=gcomm://%[7]s
wsrep_node_name=%[8]s
wsrep_node_address=127.0.0.1:%[9]d
wsrep_node_incoming_address=127.0.0.1:%[5]d
# The default IST port is the gcomm port plus one: the next node's.
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:%[9]d;ist.recv_addr=127.0.0.1:%[10]d;gcache.size=16M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:%[11]d
`, userName, n.data(), n.sock(), n.dir, n.port, Provider, strings.Join(members, ","), n.name,
		GcommPort+i, ISTPort+i, SSTPort+i)
	if err := os.WriteFile(n.cnf(), []byte(cnf), 0o640); err != nil {
		return err
	}
	if run != nil {
		return os.Chown(n.cnf(), int(run.Uid), int(run.Gid))
	}
	return nil
}

// spawn runs every start on one goroutine locked to its OS thread, which
// never ends: the kernel sends the parent-death signal when the thread
// that started a child ends, not the process, and the Go runtime may end
// a thread.
var spawn = sync.OnceValue(func() chan func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread()
		for f := range ch {
			f()
		}
	}()
	return ch
})

// launch starts mariadbd with args, its output to a file, in a process
// group of its own (a terminal's ^C goes to the test, which stops the
// nodes in order).
func (c *Cluster) launch(n *node, mariadbd string, args []string, run *syscall.Credential) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("stopped during start-up")
	}
	out, err := os.OpenFile(filepath.Join(n.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(mariadbd, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: run}
	res := make(chan error)
	spawn() <- func() { res <- cmd.Start() }
	if err := <-res; err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func() {
		n.err = cmd.Wait()
		close(n.done)
	}()
	return nil
}

// exited reports whether the node's process has ended.
func (n *node) exited() bool {
	if n.done == nil {
		return true
	}
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// rootDB opens a root connection over the node's socket.
func (n *node) rootDB() (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", n.sock()
	cfg.Timeout = 2 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// root runs statements as root.
func (n *node) root(ctx context.Context, stmts ...string) error {
	db, err := n.rootDB()
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %s: %w", n.name, s, err)
		}
	}
	return nil
}

// query reads one row as root.
func (n *node) query(ctx context.Context, q string, dest ...any) error {
	db, err := n.rootDB()
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, q).Scan(dest...); err != nil {
		return fmt.Errorf("%s: %s: %w", n.name, q, err)
	}
	return nil
}

// waitSynced waits until the node answers and says it is Synced with the
// cluster, or its process ends, or ctx or startWait runs out.
func (n *node) waitSynced(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	var last error
	for {
		var name, state string
		err := n.query(ctx, "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'", &name, &state)
		if err == nil && state == "Synced" {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%s is %s", n.name, state)
		}
		last = err
		if n.exited() {
			return fmt.Errorf("%s exited during start-up: %v", n.name, n.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not in sync after %v: %v", n.name, startWait, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop shuts the node down: SHUTDOWN over its socket, or SIGTERM when that
// cannot be done (a joiner receiving its state has no socket yet), both
// clean; SIGKILL to its process group after stopWait.
func (n *node) stop() error {
	if n.exited() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	wait := stopWait
	if err := n.root(ctx, "SHUTDOWN"); err != nil {
		// No socket: a joiner still receiving its state, which blocks
		// SIGTERM until it is done. Give it a moment, then kill it.
		n.cmd.Process.Signal(syscall.SIGTERM)
		wait = 5 * time.Second
	}
	select {
	case <-n.done:
		return nil
	case <-time.After(wait):
	}
	// Its own group: the rsync a state transfer left running goes too.
	syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	<-n.done
	if wait == stopWait {
		return fmt.Errorf("%s did not stop within %v; killed", n.name, stopWait)
	}
	return nil
}

// Stop stops the nodes, the last joined first, and removes their folder.
// It may be called more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.stopped = true
		c.mu.Unlock()
		var errs []error
		for i := Nodes - 1; i >= 0; i-- {
			if n := c.nodes[i]; n != nil {
				errs = append(errs, n.stop())
			}
		}
		errs = append(errs, os.RemoveAll(c.dir))
		c.stopErr = errors.Join(errs...)
		live.Lock()
		delete(live.m, c)
		live.Unlock()
	})
	return c.stopErr
}

// logs returns the end of each node's error log, for a start that failed.
func (c *Cluster) logs() string {
	var b bytes.Buffer
	for _, n := range c.nodes {
		if n == nil {
			continue
		}
		for _, f := range []string{"error.log", "stdout.log"} {
			data, err := os.ReadFile(filepath.Join(n.dir, f))
			if err != nil || len(data) == 0 {
				continue
			}
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			fmt.Fprintf(&b, "--- %s/%s\n%s\n", n.name, f, strings.Join(lines[max(0, len(lines)-25):], "\n"))
		}
	}
	return b.String()
}

// DSN returns the application account's DSN for database db on node i
// (0, 1, 2), with parseTime set and params added ("name=value", as
// "wsrep_sync_wait=1", which the driver sets on each connection).
func (c *Cluster) DSN(i int, db string, params ...string) string {
	dsn := appUser + ":" + appPassword + "@tcp(127.0.0.1:" + strconv.Itoa(SQLPort+i) + ")/" + db + "?parseTime=true"
	for _, p := range params {
		dsn += "&" + p
	}
	return dsn
}

// Database creates a database of t's own on the cluster and returns its DSN
// on each node, with params added to each (see DSN). It is dropped when t
// ends.
func (c *Cluster) Database(t testing.TB, params ...string) [Nodes]string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "twofa_" + hex.EncodeToString(b[:])
	admin := c.Open(t, c.DSN(0, ""))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("galera: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("galera: drop database: %v", err)
		}
	})
	// Each node runs the CREATE in the cluster's order, but at its own
	// pace: a connection to a node that has not yet would find no such
	// database. A read with wsrep_sync_wait waits until the node has
	// applied everything committed before it began.
	var dsns [Nodes]string
	for i := range dsns {
		dsns[i] = c.DSN(i, name, params...)
		var n int
		if err := c.Open(t, c.DSN(i, "", "wsrep_sync_wait=1")).QueryRow(
			"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil || n != 1 {
			t.Fatalf("galera: database %s on node %d: %d, %v", name, i+1, n, err)
		}
	}
	return dsns
}

// Open opens a handle on dsn, closed when t ends.
func (c *Cluster) Open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("galera: open: %v", err)
	}
	// Racing tests run dozens of goroutines on each handle; without idle
	// connections each would dial a new one.
	db.SetMaxIdleConns(64)
	t.Cleanup(func() { db.Close() })
	return db
}
