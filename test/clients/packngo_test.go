package clients

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/packethost/packngo"
)

func packngoClient(t *testing.T, e env, key string) *packngo.Client {
	t.Helper()
	c, err := packngo.NewClientWithBaseURL("ccm-conformance", key, &http.Client{Timeout: 30 * time.Second}, e.baseURL+"/")
	check(t, err, "packngo.NewClientWithBaseURL")
	return c
}

func wantPackngoError(t *testing.T, err error, status int, fragment string) {
	t.Helper()
	var er *packngo.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("want a packngo.ErrorResponse with status %d, got %v", status, err)
	}
	if er.Response.StatusCode != status {
		t.Fatalf("want status %d, got %d (%v)", status, er.Response.StatusCode, er.Errors)
	}
	if len(er.Errors) == 0 || !strings.Contains(strings.Join(er.Errors, " "), fragment) {
		t.Fatalf("want an error mentioning %q, got %q", fragment, er.Errors)
	}
}

func TestPackngo(t *testing.T) {
	e := mustEnv(t)
	c := packngoClient(t, e, e.apiKey)
	s := &steps{t: t}
	var withTags, withoutTags, inFacility *packngo.Device
	var reservation *packngo.IPAddressReservation
	var assignment *packngo.IPAddressAssignment
	var session *packngo.BGPSession

	s.run("auth/bad-key-401", func(t *testing.T) {
		_, _, err := packngoClient(t, e, "not-a-key").Projects.List(nil)
		wantPackngoError(t, err, 401, "")
	})
	s.run("projects/list", func(t *testing.T) {
		ps, _, err := c.Projects.List(nil)
		check(t, err, "Projects.List")
		for _, p := range ps {
			if p.ID == e.projectID {
				return
			}
		}
		t.Fatalf("project %s not in %d projects", e.projectID, len(ps))
	})
	s.run("projects/get", func(t *testing.T) {
		p, _, err := c.Projects.Get(e.projectID, nil)
		check(t, err, "Projects.Get")
		if p.ID != e.projectID || p.Name == "" {
			t.Fatalf("got %+v", p)
		}
	})
	s.run("projects/get-404", func(t *testing.T) {
		_, _, err := c.Projects.Get("00000000-0000-4000-8000-00000000dead", nil)
		if err == nil {
			t.Fatal("want an error for an unknown project")
		}
		var er *packngo.ErrorResponse
		if !errors.As(err, &er) || (er.Response.StatusCode != 404 && er.Response.StatusCode != 403) {
			t.Fatalf("want 403/404, got %v", err)
		}
	})
	s.run("metros/list", func(t *testing.T) {
		ms, _, err := c.Metros.List(nil)
		check(t, err, "Metros.List")
		if !hasMetro(ms, "sv") {
			t.Fatalf("no sv in %+v", ms)
		}
	})
	s.run("facilities/list", func(t *testing.T) {
		fs, _, err := c.Facilities.List(nil)
		check(t, err, "Facilities.List")
		if len(fs) == 0 || fs[0].Code == "" {
			t.Fatalf("got %+v", fs)
		}
	})
	s.run("plans/list", func(t *testing.T) {
		ps, _, err := c.Plans.List(nil)
		check(t, err, "Plans.List")
		if !hasPlan(ps, "c3.small.x86") {
			t.Fatalf("no c3.small.x86 in %d plans", len(ps))
		}
	})
	s.run("operating-systems/list", func(t *testing.T) {
		oss, _, err := c.OperatingSystems.List()
		check(t, err, "OperatingSystems.List")
		found := false
		for _, o := range oss {
			found = found || o.Slug == "ubuntu_24_04"
		}
		if !found {
			t.Fatalf("no ubuntu_24_04 in %d operating systems", len(oss))
		}
	})
	s.run("devices/create-with-tags-metro", func(t *testing.T) {
		d, _, err := c.Devices.Create(&packngo.DeviceCreateRequest{
			Hostname: "pk-tagged", Plan: "c3.small.x86", Metro: "sv", OS: "ubuntu_24_04",
			BillingCycle: "hourly", ProjectID: e.projectID, Tags: []string{"a", "b"},
		})
		check(t, err, "Devices.Create")
		if d.Hostname != "pk-tagged" || len(d.Tags) != 2 || d.Metro == nil || d.Metro.Code != "sv" {
			t.Fatalf("got %+v", d)
		}
		withTags = d
	})
	s.run("devices/create-without-tags", func(t *testing.T) {
		// packngo sends "tags": null when no tags are given.
		d, _, err := c.Devices.Create(&packngo.DeviceCreateRequest{
			Hostname: "pk-plain", Plan: "c3.small.x86", Metro: "da", OS: "ubuntu_22_04", ProjectID: e.projectID,
			CustomData: `{"role":"worker","n":1}`, UserData: "#!/bin/sh\necho hi\n",
		})
		check(t, err, "Devices.Create")
		if len(d.Tags) != 0 || d.Metro == nil || d.Metro.Code != "da" {
			t.Fatalf("got %+v", d)
		}
		if d.CustomData["role"] != "worker" {
			t.Fatalf("customdata string not parsed: %+v", d.CustomData)
		}
		withoutTags = d
	})
	s.run("devices/create-facility", func(t *testing.T) {
		fs, _, err := c.Facilities.List(nil)
		check(t, err, "Facilities.List")
		d, _, err := c.Devices.Create(&packngo.DeviceCreateRequest{
			Hostname: "pk-facility", Plan: "c3.small.x86", Facility: []string{fs[0].Code}, OS: "ubuntu_24_04",
			ProjectID: e.projectID, Tags: []string{},
		})
		check(t, err, "Devices.Create")
		if d.Facility == nil || d.Facility.Code != fs[0].Code {
			t.Fatalf("got facility %+v, want %s", d.Facility, fs[0].Code)
		}
		inFacility = d
	})
	s.run("devices/create-422-unknown-plan", func(t *testing.T) {
		_, _, err := c.Devices.Create(&packngo.DeviceCreateRequest{
			Hostname: "bad", Plan: "no.such.plan", Metro: "sv", OS: "ubuntu_24_04", ProjectID: e.projectID,
		})
		wantPackngoError(t, err, 422, "plan")
	})
	s.run("devices/get", func(t *testing.T) {
		d, _, err := c.Devices.Get(withTags.ID, nil)
		check(t, err, "Devices.Get")
		if d.ID != withTags.ID || d.Plan == nil || d.Plan.Slug != "c3.small.x86" || d.OS == nil {
			t.Fatalf("got %+v", d)
		}
	})
	s.run("devices/get-include-project", func(t *testing.T) {
		d, _, err := c.Devices.Get(withTags.ID, &packngo.GetOptions{Includes: []string{"project"}})
		check(t, err, "Devices.Get")
		if d.Project == nil || d.Project.Name == "" {
			t.Fatalf("project not included: %+v", d.Project)
		}
	})
	s.run("devices/get-exclude-ip-addresses", func(t *testing.T) {
		d, _, err := c.Devices.Get(withTags.ID, &packngo.GetOptions{Excludes: []string{"ip_addresses"}})
		check(t, err, "Devices.Get")
		for _, a := range d.Network {
			if a.Address != "" || a.Href == "" {
				t.Fatalf("excluded ip_addresses should be bare hrefs, got %+v", a)
			}
		}
	})
	s.run("devices/get-404", func(t *testing.T) {
		_, _, err := c.Devices.Get("00000000-0000-4000-8000-00000000dead", nil)
		wantPackngoError(t, err, 404, "")
	})
	s.run("devices/list-paginated", func(t *testing.T) {
		// packngo follows meta.next across pages.
		ds, _, err := c.Devices.List(e.projectID, &packngo.ListOptions{PerPage: 1})
		check(t, err, "Devices.List")
		if len(ds) < 3 {
			t.Fatalf("want all devices across pages, got %d", len(ds))
		}
	})
	s.run("devices/list-one-page", func(t *testing.T) {
		ds, _, err := c.Devices.List(e.projectID, &packngo.ListOptions{Page: 2, PerPage: 1})
		check(t, err, "Devices.List")
		if len(ds) != 1 {
			t.Fatalf("want exactly page 2 of size 1, got %d", len(ds))
		}
	})
	s.run("devices/list-search", func(t *testing.T) {
		ds, _, err := c.Devices.List(e.projectID, &packngo.ListOptions{Search: "pk-facility"})
		check(t, err, "Devices.List")
		if len(ds) != 1 || ds[0].ID != inFacility.ID {
			t.Fatalf("got %d devices", len(ds))
		}
	})
	s.run("devices/update", func(t *testing.T) {
		host, desc, cd := "pk-renamed", "renamed by packngo", `{"role":"control-plane"}`
		tags := []string{"c"}
		d, _, err := c.Devices.Update(withTags.ID, &packngo.DeviceUpdateRequest{
			Hostname: &host, Description: &desc, Tags: &tags, CustomData: &cd,
		})
		check(t, err, "Devices.Update")
		if d.Hostname != host || d.Description == nil || *d.Description != desc || len(d.Tags) != 1 ||
			d.CustomData["role"] != "control-plane" {
			t.Fatalf("got %+v", d)
		}
	})
	s.run("devices/update-422-bad-hostname", func(t *testing.T) {
		host := "not a host name!"
		_, _, err := c.Devices.Update(withTags.ID, &packngo.DeviceUpdateRequest{Hostname: &host})
		wantPackngoError(t, err, 422, "hostname")
	})
	s.run("devices/lock", func(t *testing.T) {
		_, err := c.Devices.Lock(withTags.ID)
		check(t, err, "Devices.Lock")
		d, _, err := c.Devices.Get(withTags.ID, nil)
		check(t, err, "Devices.Get")
		if !d.Locked {
			t.Fatal("device not locked")
		}
	})
	s.run("devices/delete-locked-422", func(t *testing.T) {
		_, err := c.Devices.Delete(withTags.ID, false)
		wantPackngoError(t, err, 422, "locked")
	})
	s.run("devices/unlock", func(t *testing.T) {
		_, err := c.Devices.Unlock(withTags.ID)
		check(t, err, "Devices.Unlock")
		d, _, err := c.Devices.Get(withTags.ID, nil)
		check(t, err, "Devices.Get")
		if d.Locked {
			t.Fatal("device still locked")
		}
	})
	s.run("devices/power-off", func(t *testing.T) {
		_, err := c.Devices.PowerOff(withoutTags.ID)
		check(t, err, "Devices.PowerOff")
	})
	s.run("devices/state-inactive", func(t *testing.T) {
		waitState(t, func() (string, error) {
			d, _, err := c.Devices.Get(withoutTags.ID, nil)
			if err != nil {
				return "", err
			}
			return d.State, nil
		}, "inactive")
	})
	s.run("devices/power-on", func(t *testing.T) {
		_, err := c.Devices.PowerOn(withoutTags.ID)
		check(t, err, "Devices.PowerOn")
		waitState(t, func() (string, error) {
			d, _, err := c.Devices.Get(withoutTags.ID, nil)
			if err != nil {
				return "", err
			}
			return d.State, nil
		}, "active")
	})
	s.run("devices/reboot", func(t *testing.T) {
		_, err := c.Devices.Reboot(withoutTags.ID)
		check(t, err, "Devices.Reboot")
	})
	s.run("devices/reinstall", func(t *testing.T) {
		_, err := c.Devices.Reinstall(inFacility.ID, &packngo.DeviceReinstallFields{OperatingSystem: "debian_12"})
		check(t, err, "Devices.Reinstall")
	})
	s.run("device-ips/list", func(t *testing.T) {
		as, _, err := c.DeviceIPs.List(withTags.ID, nil)
		check(t, err, "DeviceIPs.List")
		if len(as) < 2 {
			t.Fatalf("want the device's management addresses, got %d", len(as))
		}
	})
	s.run("device-ips/get", func(t *testing.T) {
		as, _, err := c.DeviceIPs.List(withTags.ID, nil)
		check(t, err, "DeviceIPs.List")
		a, _, err := c.DeviceIPs.Get(as[0].ID, nil)
		check(t, err, "DeviceIPs.Get")
		if a.Address != as[0].Address {
			t.Fatalf("got %s, want %s", a.Address, as[0].Address)
		}
	})
	s.run("ips/create-metro", func(t *testing.T) {
		metro := "sv"
		r, _, err := c.ProjectIPs.Create(e.projectID, &packngo.IPReservationCreateRequest{
			Type: packngo.PublicIPv4, Quantity: 1, Metro: &metro, Tags: []string{"eip"},
			CustomData: map[string]string{"by": "packngo"},
		})
		check(t, err, "ProjectIPs.Create")
		if r.CIDR != 32 || r.Metro == nil || r.Metro.Code != "sv" || len(r.Tags) != 1 {
			t.Fatalf("got %+v", r)
		}
		reservation = r
	})
	s.run("ips/create-quantity-4", func(t *testing.T) {
		metro := "sv"
		r, _, err := c.ProjectIPs.Create(e.projectID, &packngo.IPReservationCreateRequest{
			Type: packngo.PublicIPv4, Quantity: 4, Metro: &metro,
		})
		check(t, err, "ProjectIPs.Create")
		if r.CIDR != 30 {
			t.Fatalf("want a /30, got /%d", r.CIDR)
		}
		addrs, _, err := c.ProjectIPs.AvailableAddresses(r.ID, &packngo.AvailableRequest{CIDR: 32})
		check(t, err, "ProjectIPs.AvailableAddresses")
		if len(addrs) != 4 {
			t.Fatalf("want 4 available /32s in a /30, got %v", addrs)
		}
		_, err = c.ProjectIPs.Delete(r.ID)
		check(t, err, "ProjectIPs.Delete")
	})
	s.run("ips/create-facility", func(t *testing.T) {
		facility := inFacility.Facility.Code
		r, _, err := c.ProjectIPs.Create(e.projectID, &packngo.IPReservationCreateRequest{
			Type: packngo.PublicIPv4, Quantity: 2, Facility: &facility,
		})
		check(t, err, "ProjectIPs.Create")
		if r.CIDR != 31 {
			t.Fatalf("want a /31, got /%d", r.CIDR)
		}
		_, err = c.ProjectIPs.Remove(r.ID)
		check(t, err, "ProjectIPs.Remove")
	})
	s.run("ips/create-global", func(t *testing.T) {
		r, _, err := c.ProjectIPs.Create(e.projectID, &packngo.IPReservationCreateRequest{
			Type: packngo.GlobalIPv4, Quantity: 1,
		})
		check(t, err, "ProjectIPs.Create")
		if !r.Global {
			t.Fatalf("got %+v", r)
		}
		_, err = c.ProjectIPs.Delete(r.ID)
		check(t, err, "ProjectIPs.Delete")
	})
	s.run("ips/create-422-no-metro", func(t *testing.T) {
		_, _, err := c.ProjectIPs.Create(e.projectID, &packngo.IPReservationCreateRequest{
			Type: packngo.PublicIPv4, Quantity: 1,
		})
		wantPackngoError(t, err, 422, "metro")
	})
	s.run("ips/list", func(t *testing.T) {
		rs, _, err := c.ProjectIPs.List(e.projectID, nil)
		check(t, err, "ProjectIPs.List")
		if !hasReservation(rs, reservation.ID) {
			t.Fatalf("reservation %s not in %d", reservation.ID, len(rs))
		}
	})
	s.run("ips/list-types-public_ipv4", func(t *testing.T) {
		rs, _, err := c.ProjectIPs.List(e.projectID, &packngo.ListOptions{QueryParams: map[string]string{"types": "public_ipv4"}})
		check(t, err, "ProjectIPs.List")
		for _, r := range rs {
			if r.AddressFamily != 4 || !r.Public {
				t.Fatalf("types=public_ipv4 gave %s /%d public=%v", r.Address, r.CIDR, r.Public)
			}
		}
		if !hasReservation(rs, reservation.ID) {
			t.Fatal("the new reservation is missing")
		}
	})
	s.run("ips/get", func(t *testing.T) {
		r, _, err := c.ProjectIPs.Get(reservation.ID, &packngo.GetOptions{Includes: []string{"assignments"}})
		check(t, err, "ProjectIPs.Get")
		if cd, _ := r.CustomData.(map[string]interface{}); r.Address != reservation.Address || cd["by"] != "packngo" {
			t.Fatalf("got %+v", r)
		}
	})
	s.run("ips/update-tags", func(t *testing.T) {
		tags := []string{"eip", "updated"}
		r, _, err := c.ProjectIPs.Update(reservation.ID, &packngo.IPAddressUpdateRequest{Tags: &tags}, nil)
		check(t, err, "ProjectIPs.Update")
		if len(r.Tags) != 2 {
			t.Fatalf("got tags %v", r.Tags)
		}
	})
	s.run("ips/available", func(t *testing.T) {
		addrs, _, err := c.ProjectIPs.AvailableAddresses(reservation.ID, &packngo.AvailableRequest{CIDR: 32})
		check(t, err, "ProjectIPs.AvailableAddresses")
		if len(addrs) != 1 || !strings.HasPrefix(addrs[0], reservation.Address) {
			t.Fatalf("got %v for %s", addrs, reservation.Address)
		}
	})
	s.run("ips/assign", func(t *testing.T) {
		a, _, err := c.DeviceIPs.Assign(withTags.ID, &packngo.AddressStruct{Address: reservation.Address + "/32"})
		check(t, err, "DeviceIPs.Assign")
		if a.Address != reservation.Address || a.AssignedTo.Href == "" {
			t.Fatalf("got %+v", a)
		}
		assignment = a
	})
	s.run("ips/assign-again-422", func(t *testing.T) {
		_, _, err := c.DeviceIPs.Assign(withoutTags.ID, &packngo.AddressStruct{Address: reservation.Address + "/32"})
		wantPackngoError(t, err, 422, "")
	})
	s.run("ips/get-assigned", func(t *testing.T) {
		r, _, err := c.ProjectIPs.Get(reservation.ID, &packngo.GetOptions{Includes: []string{"assignments"}})
		check(t, err, "ProjectIPs.Get")
		if len(r.Assignments) != 1 {
			t.Fatalf("want 1 assignment, got %d", len(r.Assignments))
		}
	})
	s.run("ips/unassign", func(t *testing.T) {
		_, err := c.DeviceIPs.Unassign(assignment.ID)
		check(t, err, "DeviceIPs.Unassign")
		_, _, err = c.DeviceIPs.Get(assignment.ID, nil)
		wantPackngoError(t, err, 404, "")
	})
	s.run("bgp-config/create", func(t *testing.T) {
		_, err := c.BGPConfig.Create(e.projectID, packngo.CreateBGPConfigRequest{
			DeploymentType: "local", Asn: 65000, Md5: "Passw0rdXyz1",
		})
		check(t, err, "BGPConfig.Create")
	})
	s.run("bgp-config/get", func(t *testing.T) {
		cfg, _, err := c.BGPConfig.Get(e.projectID, nil)
		check(t, err, "BGPConfig.Get")
		if cfg.Asn != 65000 || cfg.DeploymentType != "local" {
			t.Fatalf("got %+v", cfg)
		}
	})
	s.run("bgp-config/create-again-422", func(t *testing.T) {
		_, err := c.BGPConfig.Create(e.projectID, packngo.CreateBGPConfigRequest{DeploymentType: "local", Asn: 65000})
		wantPackngoError(t, err, 422, "")
	})
	s.run("bgp-sessions/create", func(t *testing.T) {
		dr := false
		bs, _, err := c.BGPSessions.Create(withTags.ID, packngo.CreateBGPSessionRequest{AddressFamily: "ipv4", DefaultRoute: &dr})
		check(t, err, "BGPSessions.Create")
		if bs.AddressFamily != "ipv4" {
			t.Fatalf("got %+v", bs)
		}
		session = bs
	})
	s.run("bgp-sessions/create-duplicate-422", func(t *testing.T) {
		_, _, err := c.BGPSessions.Create(withTags.ID, packngo.CreateBGPSessionRequest{AddressFamily: "ipv4"})
		wantPackngoError(t, err, 422, "already has session")
	})
	s.run("bgp-sessions/get", func(t *testing.T) {
		bs, _, err := c.BGPSessions.Get(session.ID, nil)
		check(t, err, "BGPSessions.Get")
		if bs.ID != session.ID {
			t.Fatalf("got %+v", bs)
		}
	})
	s.run("bgp-sessions/list-device", func(t *testing.T) {
		ss, _, err := c.Devices.ListBGPSessions(withTags.ID, nil)
		check(t, err, "Devices.ListBGPSessions")
		if len(ss) != 1 {
			t.Fatalf("got %d sessions", len(ss))
		}
	})
	s.run("bgp-sessions/list-project", func(t *testing.T) {
		ss, _, err := c.Projects.ListBGPSessions(e.projectID, nil)
		check(t, err, "Projects.ListBGPSessions")
		if len(ss) < 1 {
			t.Fatalf("got %d sessions", len(ss))
		}
	})
	s.run("bgp-neighbors/list", func(t *testing.T) {
		ns, _, err := c.Devices.ListBGPNeighbors(withTags.ID, nil)
		check(t, err, "Devices.ListBGPNeighbors")
		// One entry per address family, as on Metal.
		if len(ns) != 2 || ns[0].AddressFamily != 4 || ns[0].CustomerAs != 65000 || len(ns[0].PeerIps) == 0 {
			t.Fatalf("got %+v", ns)
		}
	})
	s.run("bgp-sessions/delete", func(t *testing.T) {
		_, err := c.BGPSessions.Delete(session.ID)
		check(t, err, "BGPSessions.Delete")
		_, _, err = c.BGPSessions.Get(session.ID, nil)
		wantPackngoError(t, err, 404, "")
	})
	s.run("ips/delete", func(t *testing.T) {
		_, err := c.ProjectIPs.Delete(reservation.ID)
		check(t, err, "ProjectIPs.Delete")
		_, _, err = c.ProjectIPs.Get(reservation.ID, nil)
		wantPackngoError(t, err, 404, "")
	})
	for i, d := range []**packngo.Device{&withTags, &withoutTags, &inFacility} {
		s.run(fmt.Sprintf("devices/delete-%d", i+1), func(t *testing.T) {
			_, err := c.Devices.Delete((*d).ID, false)
			check(t, err, "Devices.Delete")
			_, _, err = c.Devices.Get((*d).ID, nil)
			wantPackngoError(t, err, 404, "")
		})
	}
}

func waitState(t *testing.T, get func() (string, error), want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		state, err := get()
		check(t, err, "get state")
		if state == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %q, want %q", state, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasMetro(ms []packngo.Metro, code string) bool {
	for _, m := range ms {
		if m.Code == code {
			return true
		}
	}
	return false
}

func hasPlan(ps []packngo.Plan, slug string) bool {
	for _, p := range ps {
		if p.Slug == slug {
			return true
		}
	}
	return false
}

func hasReservation(rs []packngo.IPAddressReservation, id string) bool {
	for _, r := range rs {
		if r.ID == id {
			return true
		}
	}
	return false
}
