// Package radiustest runs a real FreeRADIUS (Debian's freeradius 3.x) for
// tests: a private config directory in t.TempDir() (clients, users,
// mschap with MPPE keys, a detail file for accounting; optionally an sqlite
// database through rlm_sql for a fleet of NASes), listening on loopback or
// Options.Listen, started by PID and killed at cleanup. It waits for
// "Ready to process requests"; no fixed sleeps.
package radiustest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a server.
type Options struct {
	Secret string // shared secret of client 127.0.0.1 (default "testing123")
	// AuthPort and AcctPort are the loopback ports (in the network
	// namespace Command runs in).
	AuthPort, AcctPort int
	// Users is the "files" module's users file (FreeRADIUS syntax).
	Users string
	// Command makes the process (e.g. netnstest NS.Cmd to run inside a
	// namespace); nil runs it here.
	Command func(name string, args ...string) *exec.Cmd
	// Unsigned leaves out the post-auth policy that makes FreeRADIUS
	// sign its Access-Accepts and -Rejects: Debian 12's 3.2.1 (before
	// the Blast-RADIUS fixes of 3.2.5) sends them without a
	// Message-Authenticator unless told to.
	Unsigned bool
	// Listen is the address the server listens on (default 127.0.0.1).
	Listen string
	// Clients are NASes besides 127.0.0.1, by address, with Secret and
	// nas_type "other" (FreeRADIUS then trusts its session list for
	// Simultaneous-Use and runs no checkrad against them).
	Clients []string
	// SQL turns on rlm_sql with the sqlite driver: a database in Dir
	// made from Debian's schema (mods-config/sql/main/sqlite/schema.sql)
	// and then SQLInit (e.g. radcheck rows), used for authorize,
	// accounting (radacct) and Simultaneous-Use (session).
	SQL     bool
	SQLInit string
	// CoAPort, with SQL, is a port on Listen where the server takes
	// Disconnect- and CoA-Requests (from any client) and proxies each to
	// the box holding the session: the NAS-IP-Address of the request, or
	// else the user's open radacct row's. Every Clients address is a
	// home server of type coa on port 3799, its realm named by the
	// address, sent from Listen (the address the boxes take DAE from).
	CoAPort int
	// Threaded runs the server with its thread pool and without debug
	// output (-f -l stdout, not -X): for load, where -X's single thread
	// and per-request dumps would be what is measured. Output then has
	// the auth log lines only.
	Threaded bool
}

// sqliteSchema is the schema FreeRADIUS ships for rlm_sql_sqlite.
const sqliteSchema = "/etc/freeradius/3.0/mods-config/sql/main/sqlite/schema.sql"

// Server is a running FreeRADIUS.
type Server struct {
	Dir    string
	Secret string
	opts   Options
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	ready  chan struct{}
	done   chan struct{}
}

// Require skips the test when freeradius is not installed, or fails it
// under CI=true.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("freeradius"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("radiustest: freeradius missing under CI (make deps)")
		}
		t.Skip("radiustest: freeradius not installed")
	}
}

// Start writes the config and starts `freeradius -X` on it. With AuthPort
// and AcctPort both 0 it picks free loopback ports, and picks again (up to
// three times) when another process took one between the pick and
// FreeRADIUS's bind.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	Require(t)
	if o.Secret == "" {
		o.Secret = "testing123"
	}
	if o.Command == nil {
		o.Command = exec.Command
	}
	pick := o.AuthPort == 0 && o.AcctPort == 0
	for try := 1; ; try++ {
		if pick {
			ports := FreePorts(t, 2)
			o.AuthPort, o.AcctPort = ports[0], ports[1]
		}
		s, err := start(t, o)
		if err == nil {
			return s
		}
		if !pick || try == 3 || !strings.Contains(err.Error(), "already in use") {
			t.Fatal(err)
		}
		t.Logf("radiustest: port taken, picking others: %v", firstLine(err.Error()))
	}
}

// start runs one FreeRADIUS on o's ports and waits for it to be ready.
func start(t testing.TB, o Options) (*Server, error) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"run", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sign := signReplies
	if o.Unsigned {
		sign = ""
	}
	var clients, sqlMod, sqlOn, coa string
	for i, a := range o.Clients {
		clients += fmt.Sprintf("client nas%d {\n\tipaddr = %s\n\tsecret = \"%s\"\n\tnas_type = other\n\trequire_message_authenticator = yes\n}\n", i, a, o.Secret)
	}
	if o.SQL {
		if err := makeSQLite(filepath.Join(dir, "radius.db"), o.SQLInit); err != nil {
			t.Fatal(err)
		}
		sqlMod, sqlOn = sqlModule, "sql"
		if o.CoAPort != 0 {
			coa = coaProxy(cmpOr(o.Listen, "127.0.0.1"), o.CoAPort, o.Secret, o.Clients)
		}
	}
	files := map[string]string{
		"radiusd.conf": fmt.Sprintf(radiusdConf, dir, o.Secret, o.AuthPort, o.AcctPort, sign, cmpOr(o.Listen, "127.0.0.1"), clients, sqlMod, sqlOn, coa),
		"users":        o.Users,
		// The packaged dictionaries (/usr/share/freeradius) are loaded
		// first, dictionary.microsoft among them; nothing to add.
		"dictionary": "",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{Dir: dir, Secret: o.Secret, opts: o, ready: make(chan struct{}), done: make(chan struct{})}
	// -X: debug, foreground, one process; -f -l stdout would hide the
	// attribute dumps the tests read.
	args := []string{"-X", "-d", dir}
	if o.Threaded {
		args = []string{"-f", "-l", "stdout", "-d", dir}
	}
	s.cmd = o.Command("freeradius", args...)
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go s.read(pr)
	go func() { s.cmd.Wait(); pw.Close(); close(s.done) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("freeradius output:\n%s", s.Output())
		}
	})
	select {
	case <-s.ready:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("freeradius exited before it was ready:\n%s", s.Output())
	case <-time.After(30 * time.Second):
		t.Fatalf("freeradius not ready within 30s:\n%s", s.Output())
		return nil, nil
	}
}

// makeSQLite creates the database at path from the packaged schema and
// then runs init, with the sqlite3 CLI.
func makeSQLite(path, init string) error {
	schema, err := os.ReadFile(sqliteSchema)
	if err != nil {
		return fmt.Errorf("radiustest: sql: %w (Debian package freeradius)", err)
	}
	cmd := exec.Command("sqlite3", "-bail", path)
	cmd.Stdin = strings.NewReader(string(schema) + "\n" + init)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("radiustest: sqlite3 %s: %w\n%s", path, err, out)
	}
	return nil
}

// Query runs one SQL statement on the server's database (Options.SQL)
// with the sqlite3 CLI and returns its rows, one a line, columns joined
// by "|".
func (s *Server) Query(t testing.TB, query string) string {
	t.Helper()
	// FreeRADIUS holds the database while it writes: wait for it.
	out, err := exec.Command("sqlite3", "-bail", "-cmd", ".timeout 5000", filepath.Join(s.Dir, "radius.db"), query).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", query, err, out)
	}
	return strings.TrimSpace(string(out))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// FreePorts returns n UDP ports free on loopback right now (another
// process may take one before the caller binds it).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	var conns []net.PacketConn
	for range n {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		out = append(out, c.LocalAddr().(*net.UDPAddr).Port)
	}
	for _, c := range conns {
		c.Close()
	}
	return out
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "already in use") {
			return strings.TrimSpace(l)
		}
	}
	return s
}

func (s *Server) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	once := sync.Once{}
	for sc.Scan() {
		s.mu.Lock()
		s.out.WriteString(sc.Text() + "\n")
		s.mu.Unlock()
		if strings.Contains(sc.Text(), "Ready to process requests") {
			once.Do(func() { close(s.ready) })
		}
	}
}

// AuthAddr and AcctAddr are where the server listens.
func (s *Server) AuthAddr() string {
	return net.JoinHostPort(cmpOr(s.opts.Listen, "127.0.0.1"), fmt.Sprint(s.opts.AuthPort))
}
func (s *Server) AcctAddr() string {
	return net.JoinHostPort(cmpOr(s.opts.Listen, "127.0.0.1"), fmt.Sprint(s.opts.AcctPort))
}

// Output is everything the server printed so far.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Detail is the accounting detail file so far ("" before the first record).
func (s *Server) Detail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "detail"))
	return string(b)
}

// Records splits the detail file into its records (blank-line separated).
func (s *Server) Records() []string {
	var out []string
	for _, r := range strings.Split(s.Detail(), "\n\n") {
		if strings.TrimSpace(r) != "" {
			out = append(out, r)
		}
	}
	return out
}

// WaitFor polls cond every 20 ms until it holds or d passes.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// radiusdConf: %[1]s dir, %[2]s secret, %[3]d auth port, %[4]d acct port,
// %[5]s the post-auth policy, %[6]s the listen address, %[7]s more
// clients, %[8]s the sql module (or nothing), %[9]s "sql" or nothing,
// %[10]s the coa proxy (or nothing).
// mschap with use_mppe returns MS-CHAP2-Success, MS-MPPE-Send/Recv-Key and
// the encryption policy; require_message_authenticator makes FreeRADIUS
// drop Access-Requests without one.
const radiusdConf = `
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
raddbdir = %[1]s
confdir = ${raddbdir}
modconfdir = ${confdir}/mods-config
logdir = ${raddbdir}/log
run_dir = ${raddbdir}/run
db_dir = ${raddbdir}
libdir = /usr/lib/freeradius
pidfile = ${run_dir}/radiusd.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {
	destination = stdout
	auth = yes
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}
thread pool {
	start_servers = 2
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 3
	max_requests_per_server = 0
}
client localhost {
	ipaddr = 127.0.0.1
	secret = "%[2]s"
	require_message_authenticator = yes
}
%[7]s
modules {
	pap {
		normalise = yes
	}
	chap {
	}
	mschap {
		use_mppe = yes
		require_encryption = yes
		require_strong = yes
	}
	files {
		filename = ${raddbdir}/users
	}
	# %%{md5:...}, %%{tolower:...} (the sql queries), %%{integer:...}
	expr {
	}
	always ok {
		rcode = ok
	}
	always handled {
		rcode = handled
	}
	detail {
		filename = ${raddbdir}/detail
		permissions = 0600
		header = "%%t"
	}
%[8]s
}
%[10]s
server default {
	listen {
		type = auth
		ipaddr = %[6]s
		port = %[3]d
	}
	listen {
		type = acct
		ipaddr = %[6]s
		port = %[4]d
	}
	authorize {
		files
		%[9]s
		mschap
		chap
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
		Auth-Type CHAP {
			chap
		}
		Auth-Type MS-CHAP {
			mschap
		}
	}
	preacct {
		# Debian's policy.d acct_unique, which this config does not load:
		# the key of a radacct row.
		update request {
			Acct-Unique-Session-Id := "%%{md5:%%{User-Name},%%{Acct-Session-ID},%%{NAS-IP-Address},%%{NAS-Identifier},%%{NAS-Port}}"
		}
	}
	accounting {
		detail
		%[9]s
	}
	session {
		%[9]s
	}
	post-auth {
%[5]s
	}
}
`

// sqlModule is rlm_sql on sqlite with Debian's queries. An empty
// simul_verify_query ahead of the include (the first definition counts)
// keeps FreeRADIUS to counting open radacct rows for Simultaneous-Use:
// 3.2.1's packaged verify query matches username against SQL-Group and
// so finds no rows, which would let every second login in.
const sqlModule = `
	sql {
		driver = "rlm_sql_sqlite"
		dialect = "sqlite"
		sqlite {
			filename = "${raddbdir}/radius.db"
			busy_timeout = 1000
		}
		radius_db = "radius"
		acct_table1 = "radacct"
		acct_table2 = "radacct"
		postauth_table = "radpostauth"
		authcheck_table = "radcheck"
		groupcheck_table = "radgroupcheck"
		authreply_table = "radreply"
		groupreply_table = "radgroupreply"
		usergroup_table = "radusergroup"
		read_groups = yes
		delete_stale_sessions = yes
		pool {
			start = 1
			min = 1
			max = 4
			spare = 1
			uses = 0
			retry_delay = 1
			lifetime = 0
			idle_timeout = 60
		}
		client_table = "nas"
		group_attribute = "SQL-Group"
		simul_verify_query = ""
		$INCLUDE /etc/freeradius/3.0/mods-config/sql/main/sqlite/queries.conf
	}`

// coaProxy is the coa listener, its virtual server and a home server,
// pool and realm per NAS.
func coaProxy(listen string, port int, secret string, nases []string) string {
	var b strings.Builder
	if listen != "127.0.0.1" {
		// The admin's radclient on the server's own address.
		fmt.Fprintf(&b, "client self {\n\tipaddr = %s\n\tsecret = \"%s\"\n}\n", listen, secret)
	}
	fmt.Fprintf(&b, "listen {\n\ttype = coa\n\tipaddr = %s\n\tport = %d\n\tvirtual_server = coa\n}\n", listen, port)
	for i, a := range nases {
		fmt.Fprintf(&b, `home_server coa%[1]d {
	type = coa
	ipaddr = %[2]s
	port = 3799
	src_ipaddr = %[3]s
	secret = "%[4]s"
	coa {
		irt = 2
		mrt = 16
		mrc = 3
		mrd = 10
	}
}
home_server_pool coa%[1]d {
	type = fail-over
	home_server = coa%[1]d
}
realm %[2]s {
	coa_pool = coa%[1]d
}
`, i, a, listen, secret)
	}
	b.WriteString(coaServer)
	return b.String()
}

// coaServer routes a Disconnect/CoA-Request to its NAS: the realm named
// by its NAS-IP-Address, or by the NAS of the user's open session.
const coaServer = `
server coa {
	recv-coa {
		if (&NAS-IP-Address) {
			update control {
				Proxy-To-Realm := "%{NAS-IP-Address}"
			}
		}
		else {
			update control {
				Proxy-To-Realm := "%{sql:SELECT nasipaddress FROM radacct WHERE username = '%{User-Name}' AND acctstoptime IS NULL ORDER BY radacctid DESC LIMIT 1}"
			}
		}
		handled
	}
	send-coa {
		# The box's answer comes back with its Message-Authenticator,
		# made with the box's secret and request. Dropped: 3.2.1 does not
		# compute a valid one for a Disconnect/CoA answer (radclient
		# refuses it), and none is required there.
		update reply {
			Message-Authenticator !* ANY
		}
		ok
	}
}
`

// signReplies is the post-auth policy that has FreeRADIUS before 3.2.5
// sign every Access-Accept and Access-Reject: a Message-Authenticator in
// the reply list is computed when the reply is encoded (3.2.5+ adds one
// by itself). pptpbox requires it (require_message_authenticator).
const signReplies = `
		update reply {
			Message-Authenticator := 0x00
		}
		Post-Auth-Type REJECT {
			update reply {
				Message-Authenticator := 0x00
			}
		}`
