package board

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedBoards parses every folder under board/: adding a board is adding a folder, and
// a broken profile fails here before any image is built.
func TestShippedBoards(t *testing.T) {
	dirs, err := filepath.Glob("../../board/*/" + FileName)
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i])
	}
	if err != nil || len(dirs) < 4 {
		t.Fatalf("want at least 4 board folders, got %v (%v)", dirs, err)
	}
	for _, d := range dirs {
		b, err := Load(d)
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		if !strings.Contains(b.Kernel.Cmdline, "console="+b.Console.Device) {
			t.Errorf("%s: kernel cmdline %q does not put the console on %s", d, b.Kernel.Cmdline, b.Console.Device)
		}
		// Real boxes ask for the console password; the QEMU boards leave it to the tests.
		if want := !strings.HasPrefix(b.Name, "qemu-"); b.Console.Login != want {
			t.Errorf("%s: [console] login = %v, want %v", d, b.Console.Login, want)
		}
	}
}

const minimal = `
name = "x"
arch = "amd64"
modules = ["virtio_net", "i6300esb"]
[kernel]
package = "linux-image-amd64"
cmdline = "console=ttyS0,115200"
[console]
device = "ttyS0"
baud = 115200
[watchdog]
module = "i6300esb"
device = "/dev/watchdog"
timeout = "30s"
[[nic]]
role = "wan"
driver = "virtio_net"
[[nic]]
role = "lan"
driver = "virtio_net"
index = 1
[image]
disk_mib = 128
boot_mib = 96
config_mib = 16
loaders = ["i386-pc"]
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		wantErr string // substring; "" means valid
	}{
		{"valid", func(s string) string { return s }, ""},
		{"unknown key has line", func(s string) string { return strings.Replace(s, "baud = 115200", "baud = 115200\nspeed = 1", 1) }, "b.toml:11:console.speed: unknown key"},
		{"bad arch", func(s string) string { return strings.Replace(s, `arch = "amd64"`, `arch = "mips"`, 1) }, "arch"},
		{"loader for other arch", func(s string) string { return strings.Replace(s, `"i386-pc"`, `"arm64-efi"`, 1) }, "does not boot amd64"},
		{"role twice", func(s string) string { return strings.Replace(s, `role = "lan"`, `role = "wan"`, 1) }, "assigned twice"},
		{"no driver nor pci", func(s string) string { return strings.Replace(s, "driver = \"virtio_net\"\nindex = 1", "index = 1", 1) }, "never guessed"},
		{"bad pci", func(s string) string { return strings.Replace(s, "index = 1", "index = 1\npci = \"1:0\"", 1) }, "PCI address"},
		{"watchdog module not loaded", func(s string) string { return strings.Replace(s, `"virtio_net", "i6300esb"`, `"virtio_net"`, 1) }, "watchdog.module"},
		{"disk too small", func(s string) string { return strings.Replace(s, "disk_mib = 128", "disk_mib = 100", 1) }, "image.disk_mib"},
		{"fat32 too small", func(s string) string { return strings.Replace(s, "boot_mib = 96", "boot_mib = 20", 1) }, "image.boot_mib"},
		{"bad duration", func(s string) string { return strings.Replace(s, `"30s"`, `"soon"`, 1) }, "b.toml"},
		{"usb storage without a disk driver", func(s string) string {
			return strings.Replace(s, `"virtio_net", "i6300esb"`, `"virtio_net", "usb_storage", "i6300esb"`, 1)
		}, "usb_storage without sd_mod"},
		{"lan before wan on one rule", func(s string) string {
			return strings.Replace(strings.Replace(s, "index = 1", "index = 0", 1), "role = \"wan\"\ndriver = \"virtio_net\"", "role = \"wan\"\ndriver = \"virtio_net\"\nindex = 1", 1)
		}, "the LAN would take the WAN's card"},
		{"lan before wan on different rules", func(s string) string {
			return strings.Replace(strings.Replace(s, "index = 1", "index = 0\norder = \"mac\"", 1), "role = \"wan\"\ndriver = \"virtio_net\"", "role = \"wan\"\ndriver = \"virtio_net\"\nindex = 1", 1)
		}, ""},
		{"module listed twice", func(s string) string {
			return strings.Replace(s, `"virtio_net", "i6300esb"`, `"virtio_net", "virtio-net", "i6300esb"`, 1)
		}, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse("b.toml", []byte(tt.edit(minimal)))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b.NICs[0].Name != "wan" || b.NICs[0].Order != "pci" {
					t.Errorf("defaults not applied: %+v", b.NICs[0])
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadChecksFolderName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "other")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, FileName), []byte(minimal), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "differs from its folder") {
		t.Fatalf("got %v", err)
	}
}

func TestAssignRoles(t *testing.T) {
	virtio := []Link{
		{Name: "eth1", Driver: "virtio_net", PCI: "0000:00:04.0", Path: "/sys/devices/pci0000:00/0000:00:04.0/virtio1", MAC: "52:54:00:00:00:01"},
		{Name: "eth0", Driver: "virtio_net", PCI: "0000:00:03.0", Path: "/sys/devices/pci0000:00/0000:00:03.0/virtio0", MAC: "52:54:00:00:00:02"},
		{Name: "eth2", Driver: "e1000", PCI: "0000:00:05.0", Path: "/sys/devices/pci0000:00/0000:00:05.0", MAC: "52:54:00:00:00:00"},
	}
	tests := []struct {
		name    string
		nics    []NIC
		links   []Link
		want    map[string]string // role -> link name
		wantErr string
	}{
		{"pci order", []NIC{{Role: "wan", Driver: "virtio_net", Order: "pci"}, {Role: "lan", Driver: "virtio_net", Order: "pci", Index: 1}},
			virtio, map[string]string{"wan": "eth0", "lan": "eth1"}, ""},
		{"mac order", []NIC{{Role: "wan", Driver: "virtio-net", Order: "mac"}, {Role: "lan", Driver: "virtio_net", Order: "mac", Index: 1}},
			virtio, map[string]string{"wan": "eth1", "lan": "eth0"}, ""},
		{"by pci address", []NIC{{Role: "wan", PCI: "0000:00:05.0", Order: "pci"}, {Role: "lan", Driver: "virtio_net", Order: "pci"}},
			virtio, map[string]string{"wan": "eth2", "lan": "eth0"}, ""},
		{"missing port", []NIC{{Role: "wan", Driver: "igb", Order: "pci"}, {Role: "lan", Driver: "e1000", Order: "pci"}},
			virtio, map[string]string{"wan": "", "lan": "eth2"}, ""},
		{"one card of two: the wan keeps it", []NIC{{Role: "wan", Driver: "virtio_net", Order: "pci"}, {Role: "lan", Driver: "virtio_net", Order: "pci", Index: 1}},
			virtio[:1], map[string]string{"wan": "eth1", "lan": ""}, ""},
		{"no interfaces", []NIC{{Role: "wan", Driver: "virtio_net", Order: "pci"}, {Role: "lan", Driver: "virtio_net", Order: "pci", Index: 1}},
			nil, map[string]string{"wan": "", "lan": ""}, ""},
		{"same port twice", []NIC{{Role: "wan", Driver: "e1000", Order: "pci"}, {Role: "lan", PCI: "0000:00:05.0", Order: "pci"}}, virtio, nil, "already has role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &Board{Name: "t", NICs: tt.nics}
			as, absent, err := b.AssignRoles(tt.links)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, a := range as {
				got[a.NIC.Role] = a.Link.Name
			}
			missing := map[string]bool{}
			for _, a := range absent {
				missing[a.NIC.Role] = true
				if !strings.Contains(a.Reason, "found") {
					t.Errorf("absent %s: reason %q does not say what was found", a.NIC.Role, a.Reason)
				}
			}
			for r, n := range tt.want {
				if got[r] != n {
					t.Errorf("%s = %s, want %s", r, got[r], n)
				}
				if missing[r] != (n == "") {
					t.Errorf("%s absent=%v, want %v", r, missing[r], n == "")
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse("f.toml", data)
		if err != nil {
			return
		}
		// A profile that parsed must validate again unchanged (Validate fills defaults
		// idempotently).
		if err := b.Validate(); err != nil {
			t.Fatalf("re-validate: %v", err)
		}
	})
}

// TestAssignLate: a card plugged in after boot takes the absent role; the role that has its
// port keeps it even when the new card sorts before it.
func TestAssignLate(t *testing.T) {
	b := &Board{Name: "t", NICs: []NIC{{Role: "wan", Name: "wan", Driver: "virtio_net", Order: "pci"}, {Role: "lan", Name: "lan", Driver: "virtio_net", Order: "pci", Index: 1}}}
	boot := []Link{{Name: "eth0", Driver: "virtio_net", Path: "/sys/devices/pci0000:00/0000:00:04.0/virtio1"}}
	as, absent, err := b.AssignRoles(boot)
	if err != nil || len(as) != 1 || as[0].NIC.Role != "wan" || len(absent) != 1 || absent[0].NIC.Role != "lan" {
		t.Fatalf("boot: %+v absent %+v err %v", as, absent, err)
	}
	// After the rename the port is "wan"; the new card sits at a lower PCI address.
	now := []Link{
		{Name: "wan", Driver: "virtio_net", Path: "/sys/devices/pci0000:00/0000:00:04.0/virtio1"},
		{Name: "eth1", Driver: "virtio_net", Path: "/sys/devices/pci0000:00/0000:00:02.0/virtio2"},
		{Name: "eth2", Driver: "e1000", Path: "/sys/devices/pci0000:00/0000:00:01.0"},
	}
	late := b.AssignLate(now, absent, map[string]bool{"wan": true})
	if len(late) != 1 || late[0].NIC.Role != "lan" || late[0].Link.Name != "eth1" {
		t.Fatalf("late: %+v, want lan on eth1", late)
	}
	if late := b.AssignLate(now[:1], absent, map[string]bool{"wan": true}); len(late) != 0 {
		t.Fatalf("nothing new: %+v", late)
	}
}
