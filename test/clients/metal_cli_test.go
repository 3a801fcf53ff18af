package clients

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metal "github.com/equinix/equinix-sdk-go/services/metalv1"
)

// The metal CLI v0.25.0 (github.com/equinix/metal-cli) cannot be built in CI, so these tests send with net/http
// the exact requests its commands send and decode the answers with the SDK's models, as the CLI does. The CLI
// builds its requests from equinix-sdk-go v0.42.0 structs: their ToMap drops nil pointers and nil slices only,
// so the CLI's always-set pointers to empty strings ("facility":"") and its flags' default empty slices
// ("tags":[]) are sent. The bodies and query strings below were recorded from the CLI itself (built from its
// source, PACKNGO_DEBUG=1 dumps every request) through `fake-api --intercept`; encoding/json orders the keys.

// cliUserAgent is what metal-cli/internal/cli/root.go sends: "metal-cli/<version> " + the SDK's default.
const cliUserAgent = "metal-cli/0.25.0 equinix-sdk-go/0.42.0"

type cliCaller struct {
	t   *testing.T
	e   env
	hc  *http.Client
	ran map[string]bool
}

// do sends one request as the CLI's SDK does (Accept and X-Auth-Token always, Content-Type only with a
// body) and returns the status and body.
func (c *cliCaller) do(t *testing.T, method, pathAndQuery, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, c.e.baseURL+pathAndQuery, rd)
	check(t, err, "NewRequest")
	req.Header.Set("User-Agent", cliUserAgent)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Auth-Token", c.e.apiKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	check(t, err, method+" "+pathAndQuery)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	check(t, err, "read body")
	return resp.StatusCode, b
}

// decode checks the status and decodes the answer into the SDK model v, failing with the SDK's own error.
func (c *cliCaller) decode(t *testing.T, method, pathAndQuery, body string, status int, v interface{}) {
	t.Helper()
	code, b := c.do(t, method, pathAndQuery, body)
	if code != status {
		t.Fatalf("%s %s: want %d, got %d: %s", method, pathAndQuery, status, code, b)
	}
	if v == nil {
		if len(b) != 0 {
			t.Fatalf("%s %s: want an empty body, got %s", method, pathAndQuery, b)
		}
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s %s: the SDK model %T refuses the answer: %v\n%s", method, pathAndQuery, v, err, b)
	}
}

// wantCLIError checks a failed call's body decodes into metalv1.Error, as the CLI prints it.
func (c *cliCaller) wantError(t *testing.T, method, pathAndQuery string, status int) {
	t.Helper()
	code, b := c.do(t, method, pathAndQuery, "")
	if code != status {
		t.Fatalf("%s %s: want %d, got %d: %s", method, pathAndQuery, status, code, b)
	}
	var e metal.Error
	if err := json.Unmarshal(b, &e); err != nil || len(e.Errors) == 0 || e.Errors[0] == "" {
		t.Fatalf("error body %s does not decode into metalv1.Error with errors: %v", b, err)
	}
}

// run is t.Run that remembers which steps passed; needs fails a step whose prerequisite did not.
func (c *cliCaller) run(name string, fn func(t *testing.T)) {
	c.t.Helper()
	c.ran[name] = c.t.Run(name, fn)
}

func (c *cliCaller) needs(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if !c.ran[n] {
			t.Fatalf("not run: needs the step %q, which failed", n)
		}
	}
}

func TestMetalCLIShapes(t *testing.T) {
	e := mustEnv(t)
	c := &cliCaller{t: t, e: e, hc: &http.Client{Timeout: 30 * time.Second}, ran: map[string]bool{}}
	p := e.projectID
	var device metal.Device
	var metroIP, facilityIP metal.IPReservation
	var assignment metal.IPAssignment

	// internal/projects/retrieve.go: `metal project get` (FindProjects(...).ExecuteWithPagination()).
	c.run("project-get-list", func(t *testing.T) {
		var ps metal.ProjectList
		c.decode(t, "GET", "/projects?page=1", "", 200, &ps)
		if ps.Meta.GetCurrentPage() != 1 || ps.Meta.GetLastPage() < 1 {
			t.Fatalf("meta %+v cannot end the CLI's pagination loop", ps.Meta)
		}
		for _, pr := range ps.Projects {
			if pr.GetId() == p && pr.GetName() != "" && pr.CreatedAt != nil {
				return
			}
		}
		t.Fatalf("project %s not in %+v", p, ps.Projects)
	})
	// internal/projects/retrieve.go: `metal project get -i P` (FindProjectById with nil include/exclude).
	c.run("project-get-id", func(t *testing.T) {
		var pr metal.Project
		c.decode(t, "GET", "/projects/"+p, "", 200, &pr)
		if pr.GetId() != p || pr.GetName() == "" || pr.CreatedAt == nil {
			t.Fatalf("got %+v", pr)
		}
	})
	// internal/plans/retrieve.go: `metal plan get`.
	c.run("plan-get", func(t *testing.T) {
		var ps metal.PlanList
		c.decode(t, "GET", "/plans", "", 200, &ps)
		for _, pl := range ps.Plans {
			if pl.GetSlug() == "c3.small.x86" && pl.GetName() != "" && pl.Pricing != nil {
				return
			}
		}
		t.Fatalf("no c3.small.x86 among %d plans", len(ps.Plans))
	})
	// internal/metros/retrieve.go: `metal metro get`.
	c.run("metro-get", func(t *testing.T) {
		var ms metal.MetroList
		c.decode(t, "GET", "/locations/metros", "", 200, &ms)
		for _, m := range ms.Metros {
			if m.GetCode() == "sv" && m.GetName() == "Silicon Valley" && m.GetId() != "" {
				return
			}
		}
		t.Fatalf("no sv among %+v", ms.Metros)
	})
	// internal/facilities/retrieve.go: `metal facility get`.
	c.run("facility-get", func(t *testing.T) {
		var fs metal.FacilityList
		c.decode(t, "GET", "/facilities", "", 200, &fs)
		for _, f := range fs.Facilities {
			if f.GetCode() == "sv15" && f.Metro.GetCode() == "sv" {
				return
			}
		}
		t.Fatalf("no sv15 among %d facilities", len(fs.Facilities))
	})
	// internal/os/retrieve.go: `metal os get`.
	c.run("os-get", func(t *testing.T) {
		var oss metal.OperatingSystemList
		c.decode(t, "GET", "/operating-systems", "", 200, &oss)
		for _, o := range oss.OperatingSystems {
			if o.GetSlug() == "ubuntu_24_04" && o.GetName() != "" {
				return
			}
		}
		t.Fatalf("no ubuntu_24_04 among %d", len(oss.OperatingSystems))
	})

	// internal/ips/request.go: `metal ip request -p P -t public_ipv4 -q 1 -m sv`. Metro and Facility are always
	// set as pointers to the flag strings, and --tags defaults to []string{}.
	c.run("ip-request-metro", func(t *testing.T) {
		var r metal.RequestIPReservation201Response
		c.decode(t, "POST", "/projects/"+p+"/ips",
			`{"facility":"","metro":"sv","quantity":1,"tags":[],"type":"public_ipv4"}`, 201, &r)
		if r.IPReservation == nil {
			t.Fatalf("the CLI reads reservation.IPReservation, which did not decode: %+v", r)
		}
		ip := *r.IPReservation
		if ip.GetCidr() != 32 || ip.Metro.GetCode() != "sv" || ip.Type != metal.IPRESERVATIONTYPE_PUBLIC_IPV4 ||
			!ip.GetPublic() || ip.CreatedAt == nil || ip.GetAddress() == "" || ip.Facility != nil {
			t.Fatalf("got %+v", ip)
		}
		metroIP = ip
	})
	// internal/ips/request.go: `metal ip request -p P -t public_ipv4 -q 2 -f sv15` ("metro":"").
	c.run("ip-request-facility", func(t *testing.T) {
		var r metal.RequestIPReservation201Response
		c.decode(t, "POST", "/projects/"+p+"/ips",
			`{"facility":"sv15","metro":"","quantity":2,"tags":[],"type":"public_ipv4"}`, 201, &r)
		if r.IPReservation == nil {
			t.Fatalf("the CLI reads reservation.IPReservation, which did not decode: %+v", r)
		}
		ip := *r.IPReservation
		if ip.GetCidr() != 31 || ip.Facility.GetCode() != "sv15" || ip.Metro.GetCode() != "sv" {
			t.Fatalf("got /%d facility %+v metro %+v", ip.GetCidr(), ip.Facility, ip.Metro)
		}
		facilityIP = ip
	})
	// internal/ips/retrieve.go: `metal ip get -p P` (FindIPReservations(...).Types(nil).ExecuteWithPagination()).
	c.run("ip-get-project", func(t *testing.T) {
		c.needs(t, "ip-request-metro")
		var rs metal.IPReservationList
		c.decode(t, "GET", "/projects/"+p+"/ips?page=1", "", 200, &rs)
		for _, item := range rs.IpAddresses {
			if item.IPReservation != nil && item.IPReservation.GetId() == metroIP.GetId() {
				return
			}
		}
		t.Fatalf("reservation %s not among %d", metroIP.GetId(), len(rs.IpAddresses))
	})
	// internal/ips/available.go: `metal ip available -r R -c 32`.
	c.run("ip-available", func(t *testing.T) {
		c.needs(t, "ip-request-facility")
		var av metal.IPAvailabilitiesList
		c.decode(t, "GET", "/ips/"+facilityIP.GetId()+"/available?cidr=32", "", 200, &av)
		if len(av.Available) != 2 {
			t.Fatalf("want the /31's two /32s, got %v", av.Available)
		}
	})

	// internal/devices/create.go: `metal device create -p P -P c3.small.x86 -m sv -H cli-1 -O ubuntu_24_04`.
	// --billing-cycle defaults to "hourly"; spot_instance, spot_price_max, customdata ({} from an empty
	// --customdata), hostname, userdata and tags ([]) are always set; Include(nil)/Exclude(nil) add no query.
	c.run("device-create-metro", func(t *testing.T) {
		c.decode(t, "POST", "/projects/"+p+"/devices",
			`{"billing_cycle":"hourly","customdata":{},"hostname":"cli-1","metro":"sv",`+
				`"operating_system":"ubuntu_24_04","plan":"c3.small.x86","spot_instance":false,"spot_price_max":0,`+
				`"tags":[],"userdata":""}`, 201, &device)
		// The CLI prints *device.GetOperatingSystem().Name: a nil name would crash it.
		if device.GetHostname() != "cli-1" || device.OperatingSystem == nil || device.OperatingSystem.Name == nil ||
			device.Metro.GetCode() != "sv" || device.GetSpotInstance() || device.CreatedAt == nil || device.State == nil {
			t.Fatalf("got %+v", device)
		}
	})
	// internal/devices/retrieve.go: `metal device get -i D`.
	c.run("device-get-id", func(t *testing.T) {
		c.needs(t, "device-create-metro")
		var d metal.Device
		c.decode(t, "GET", "/devices/"+device.GetId(), "", 200, &d)
		if d.GetId() != device.GetId() || d.GetState() != metal.DEVICESTATE_ACTIVE || len(d.IpAddresses) == 0 {
			t.Fatalf("got %+v", d)
		}
	})
	// internal/devices/retrieve.go: `metal device get -p P` (FindProjectDevices(...).ExecuteWithPagination()).
	c.run("device-get-project", func(t *testing.T) {
		c.needs(t, "device-create-metro")
		var ds metal.DeviceList
		c.decode(t, "GET", "/projects/"+p+"/devices?page=1", "", 200, &ds)
		if ds.Meta.GetLastPage() != 1 || len(ds.Devices) != 1 || ds.Devices[0].GetId() != device.GetId() {
			t.Fatalf("got %d devices, meta %+v", len(ds.Devices), ds.Meta)
		}
	})
	// internal/devices/update.go: `metal device update -i D -H cli-renamed -d "a description" -t x,y
	// -c '{"k":"v"}'` (only the flags given are set).
	c.run("device-update", func(t *testing.T) {
		c.needs(t, "device-create-metro")
		var d metal.Device
		c.decode(t, "PUT", "/devices/"+device.GetId(),
			`{"customdata":{"k":"v"},"description":"a description","hostname":"cli-renamed","tags":["x","y"]}`, 200, &d)
		if d.GetHostname() != "cli-renamed" || d.GetDescription() != "a description" ||
			strings.Join(d.Tags, ",") != "x,y" || d.Customdata["k"] != "v" {
			t.Fatalf("got %+v", d)
		}
	})
	// internal/devices/update.go: `metal device update -i D --locked` (the CLI sends "locked" only when true, so
	// it cannot unlock; the unlock below is the SDK's DeviceUpdateInput{Locked: false}, not a CLI shape).
	c.run("device-update-locked", func(t *testing.T) {
		c.needs(t, "device-create-metro")
		var d metal.Device
		c.decode(t, "PUT", "/devices/"+device.GetId(), `{"locked":true}`, 200, &d)
		if !d.GetLocked() {
			t.Fatal("not locked")
		}
		c.decode(t, "PUT", "/devices/"+device.GetId(), `{"locked":false}`, 200, &d)
		if d.GetLocked() {
			t.Fatal("still locked")
		}
	})
	// internal/devices/stop.go, start.go, reboot.go: `metal device stop|start|reboot -i D`.
	c.run("device-stop-start-reboot", func(t *testing.T) {
		c.needs(t, "device-create-metro")
		for _, body := range []string{`{"type":"power_off"}`, `{"type":"power_on"}`, `{"type":"reboot"}`} {
			c.decode(t, "POST", "/devices/"+device.GetId()+"/actions", body, 202, nil)
		}
	})
	// internal/devices/reinstall.go: `metal device reinstall --id D -O debian_12` (it first GETs the device).
	c.run("device-reinstall", func(t *testing.T) {
		c.needs(t, "device-create-metro")
		var d metal.Device
		c.decode(t, "GET", "/devices/"+device.GetId(), "", 200, &d)
		c.decode(t, "POST", "/devices/"+device.GetId()+"/actions",
			`{"operating_system":"debian_12","type":"reinstall"}`, 202, nil)
		waitState(t, func() (string, error) {
			var d metal.Device
			c.decode(t, "GET", "/devices/"+device.GetId(), "", 200, &d)
			return string(d.GetState()), nil
		}, "active")
		c.decode(t, "GET", "/devices/"+device.GetId(), "", 200, &d)
		if d.OperatingSystem.GetSlug() != "debian_12" {
			t.Fatalf("reinstalled with %s", d.OperatingSystem.GetSlug())
		}
	})
	// internal/ips/assign.go: `metal ip assign -a A/32 -d D`.
	c.run("ip-assign", func(t *testing.T) {
		c.needs(t, "device-create-metro", "ip-request-metro")
		c.decode(t, "POST", "/devices/"+device.GetId()+"/ips", `{"address":"`+metroIP.GetAddress()+`/32"}`, 201, &assignment)
		if assignment.GetAddress() != metroIP.GetAddress() || assignment.GetId() == "" ||
			!strings.HasSuffix(assignment.AssignedTo.GetHref(), device.GetId()) {
			t.Fatalf("got %+v", assignment)
		}
	})
	// internal/ips/unassign.go: `metal ip unassign -i ASSIGNMENT`.
	c.run("ip-unassign", func(t *testing.T) {
		c.needs(t, "ip-assign")
		c.decode(t, "DELETE", "/ips/"+assignment.GetId(), "", 204, nil)
	})
	// internal/ips/remove.go: `metal ip remove -i R`.
	c.run("ip-remove", func(t *testing.T) {
		c.needs(t, "ip-request-metro", "ip-request-facility", "ip-unassign")
		for _, r := range []metal.IPReservation{metroIP, facilityIP} {
			c.decode(t, "DELETE", "/ips/"+r.GetId(), "", 204, nil)
			c.wantError(t, "GET", "/ips/"+r.GetId(), 404)
		}
	})
	// internal/devices/delete.go: `metal device delete -f -i D` (-f skips the prompt and sets ForceDelete(true)).
	c.run("device-delete", func(t *testing.T) {
		c.needs(t, "device-create-metro")
		c.decode(t, "DELETE", "/devices/"+device.GetId()+"?force_delete=true", "", 204, nil)
		c.wantError(t, "GET", "/devices/"+device.GetId(), 404)
	})
}

// TestMetalCLIAccountShapes replays the metal CLI's requests to the account routes (/user, /organizations,
// /ssh-keys, events, hardware reservations), recorded the same way as TestMetalCLIShapes.
func TestMetalCLIAccountShapes(t *testing.T) {
	e := mustEnv(t)
	c := &cliCaller{t: t, e: e, hc: &http.Client{Timeout: 30 * time.Second}, ran: map[string]bool{}}
	p := e.projectID
	var user metal.User
	var orgID string
	var key metal.SSHKey
	var device metal.Device

	// internal/users/retrieve.go: `metal user get` (FindCurrentUser, no query).
	c.run("user-get", func(t *testing.T) {
		c.decode(t, "GET", "/user", "", 200, &user)
		wantUUID(t, "user id", user.GetId())
		if !strings.Contains(user.GetEmail(), "@") || user.CreatedAt == nil {
			t.Fatalf("got %+v", user)
		}
	})
	// internal/organizations/retrieve.go: `metal organization get` (includes address and billing_address).
	c.run("organization-get-list", func(t *testing.T) {
		var pr metal.Project
		c.decode(t, "GET", "/projects/"+p, "", 200, &pr)
		href := pr.Organization.GetHref()
		orgID = href[strings.LastIndex(href, "/")+1:]
		var orgs metal.OrganizationList
		c.decode(t, "GET", "/organizations?include=address%2Cbilling_address&page=1", "", 200, &orgs)
		if orgs.Meta.GetLastPage() < 1 {
			t.Fatalf("meta %+v cannot end the CLI's pagination loop", orgs.Meta)
		}
		for _, o := range orgs.Organizations {
			if o.GetId() == orgID && o.GetName() != "" {
				return
			}
		}
		t.Fatalf("organization %s not among %d", orgID, len(orgs.Organizations))
	})
	// internal/organizations/retrieve.go: `metal organization get -i O`.
	c.run("organization-get-id", func(t *testing.T) {
		c.needs(t, "organization-get-list")
		var o metal.Organization
		c.decode(t, "GET", "/organizations/"+orgID+"?include=address%2Cbilling_address", "", 200, &o)
		if o.GetId() != orgID || o.GetName() == "" {
			t.Fatalf("got %+v", o)
		}
	})
	// internal/ssh/create.go: `metal ssh-key create --key K --label cli-key` (SSHKeyCreateInput{Key, Label}).
	c.run("ssh-key-create", func(t *testing.T) {
		line, fp := newPublicKey(t, "cli@conformance").pair()
		c.decode(t, "POST", "/ssh-keys", `{"key":"`+line+`","label":"cli-key"}`, 201, &key)
		if key.GetKey() != line || key.GetLabel() != "cli-key" || key.GetFingerprint() != fp || key.GetId() == "" {
			t.Fatalf("got %+v, want fingerprint %s", key, fp)
		}
	})
	// internal/ssh/retrieve.go: `metal ssh-key get` (FindSSHKeys(...).Include(nil): no query).
	c.run("ssh-key-get-list", func(t *testing.T) {
		c.needs(t, "ssh-key-create")
		var ks metal.SSHKeyList
		c.decode(t, "GET", "/ssh-keys", "", 200, &ks)
		for _, k := range ks.SshKeys {
			if k.GetId() == key.GetId() && k.GetLabel() == "cli-key" {
				return
			}
		}
		t.Fatalf("key %s not among %d", key.GetId(), len(ks.SshKeys))
	})
	// internal/ssh/retrieve.go: `metal ssh-key get -i K`. (internal/ssh/update.go never attaches its body, so
	// `metal ssh-key update` fails in the CLI itself before any request.)
	c.run("ssh-key-get-id", func(t *testing.T) {
		c.needs(t, "ssh-key-create")
		var k metal.SSHKey
		c.decode(t, "GET", "/ssh-keys/"+key.GetId(), "", 200, &k)
		if k.GetId() != key.GetId() || k.GetFingerprint() != key.GetFingerprint() {
			t.Fatalf("got %+v", k)
		}
	})
	// internal/ssh/delete.go: `metal ssh-key delete -i K -f`.
	c.run("ssh-key-delete", func(t *testing.T) {
		c.needs(t, "ssh-key-create")
		c.decode(t, "DELETE", "/ssh-keys/"+key.GetId(), "", 204, nil)
		c.wantError(t, "GET", "/ssh-keys/"+key.GetId(), 404)
	})
	// internal/devices/create.go and stop.go, so that the project and the device have events.
	c.run("device-create-stop", func(t *testing.T) {
		c.decode(t, "POST", "/projects/"+p+"/devices",
			`{"billing_cycle":"hourly","customdata":{},"hostname":"cli-events","metro":"sv",`+
				`"operating_system":"ubuntu_24_04","plan":"c3.small.x86","spot_instance":false,"spot_price_max":0,`+
				`"tags":[],"userdata":""}`, 201, &device)
		c.decode(t, "POST", "/devices/"+device.GetId()+"/actions", `{"type":"power_off"}`, 202, nil)
	})
	// internal/events/retrieve.go: `metal event get -p P`, `-d D` and without either (ExecuteWithPagination).
	for _, tc := range []struct{ name, path string }{
		{"event-get-project", "/projects/" + p + "/events?page=1"},
		{"event-get-device", "/devices/{device}/events?page=1"},
		{"event-get-all", "/events?page=1"},
	} {
		c.run(tc.name, func(t *testing.T) {
			c.needs(t, "device-create-stop")
			var evs metal.EventList
			c.decode(t, "GET", strings.Replace(tc.path, "{device}", device.GetId(), 1), "", 200, &evs)
			if evs.Meta.GetLastPage() < 1 || len(evs.Events) < 2 {
				t.Fatalf("want the device's events and a meta that ends pagination, got %d, %+v", len(evs.Events),
					evs.Meta)
			}
			for _, ev := range evs.Events {
				if ev.GetId() == "" || ev.GetType() == "" || ev.CreatedAt == nil {
					t.Fatalf("got %+v", ev)
				}
			}
		})
	}
	// internal/hardware/retrieve.go: `metal hardware get -p P` (includes facility.metro).
	c.run("hardware-get-project", func(t *testing.T) {
		var hs metal.HardwareReservationList
		c.decode(t, "GET", "/projects/"+p+"/hardware-reservations?include=facility.metro&page=1", "", 200, &hs)
		if hs.HardwareReservations == nil || hs.Meta.GetLastPage() < 1 {
			t.Fatalf("want a hardware_reservations list with meta, got %+v", hs)
		}
		for _, h := range hs.HardwareReservations {
			if h.GetId() == "" || h.Facility == nil || h.Facility.Metro == nil || h.Facility.Metro.GetCode() == "" {
				t.Fatalf("facility.metro not included: %+v", h)
			}
		}
	})
	c.run("device-delete", func(t *testing.T) {
		c.needs(t, "device-create-stop")
		c.decode(t, "DELETE", "/devices/"+device.GetId()+"?force_delete=true", "", 204, nil)
	})
}
