package clients

import (
	"strings"
	"testing"

	"github.com/packethost/packngo"
)

// TestPackngoAccount runs packngo through the account routes: user, organization, SSH keys, events and
// hardware reservations (the runner seeds one).
func TestPackngoAccount(t *testing.T) {
	e := mustEnv(t)
	c := packngoClient(t, e, e.apiKey)
	s := &steps{t: t}
	var user *packngo.User
	var orgID string
	var key, projectKey *packngo.SSHKey
	var device *packngo.Device
	var events []packngo.Event
	var reservation packngo.HardwareReservation
	publicKey := newPublicKey(t, "packngo@conformance")

	s.run("users/current", func(t *testing.T) {
		u, _, err := c.Users.Current()
		check(t, err, "Users.Current")
		if u.ID == "" || u.FullName == "" || u.Email == "" || u.DefaultProjectID == nil || *u.DefaultProjectID != e.projectID {
			t.Fatalf("got %+v", u)
		}
		user = u
	})
	s.run("users/get", func(t *testing.T) {
		u, _, err := c.Users.Get(user.ID, nil)
		check(t, err, "Users.Get")
		if u.ID != user.ID || u.DefaultOrganizationID == "" {
			t.Fatalf("got %+v", u)
		}
		orgID = u.DefaultOrganizationID
	})
	s.run("organizations/list", func(t *testing.T) {
		os, _, err := c.Organizations.List(nil)
		check(t, err, "Organizations.List")
		if len(os) != 1 || os[0].ID != orgID || os[0].Name == "" {
			t.Fatalf("got %+v", os)
		}
	})
	s.run("organizations/get", func(t *testing.T) {
		o, _, err := c.Organizations.Get(orgID, nil)
		check(t, err, "Organizations.Get")
		if o.ID != orgID || len(o.Projects) == 0 || o.Address.Country == "" {
			t.Fatalf("got %+v", o)
		}
	})
	s.run("organizations/get-404", func(t *testing.T) {
		_, _, err := c.Organizations.Get("00000000-0000-4000-8000-00000000dead", nil)
		wantPackngoError(t, err, 404, "organization")
	})
	s.run("ssh-keys/list-seeded", func(t *testing.T) {
		ks, _, err := c.SSHKeys.List()
		check(t, err, "SSHKeys.List")
		if len(ks) != 1 || ks[0].Label != "seeded" || !strings.HasPrefix(ks[0].Key, "ssh-ed25519 ") {
			t.Fatalf("want the seeded key, got %+v", ks)
		}
	})
	s.run("ssh-keys/create", func(t *testing.T) {
		k, _, err := c.SSHKeys.Create(&packngo.SSHKeyCreateRequest{Label: "laptop", Key: publicKey.line})
		check(t, err, "SSHKeys.Create")
		if k.ID == "" || k.FingerPrint != publicKey.md5 || !strings.HasSuffix(k.URL, "/ssh-keys/"+k.ID) {
			t.Fatalf("got %+v, want fingerprint %s", k, publicKey.md5)
		}
		key = k
	})
	s.run("ssh-keys/create-duplicate-422", func(t *testing.T) {
		_, _, err := c.SSHKeys.Create(&packngo.SSHKeyCreateRequest{Label: "again", Key: publicKey.line})
		wantPackngoError(t, err, 422, "already exists")
	})
	s.run("ssh-keys/create-invalid-422", func(t *testing.T) {
		_, _, err := c.SSHKeys.Create(&packngo.SSHKeyCreateRequest{Label: "bad", Key: "not a key"})
		wantPackngoError(t, err, 422, "OpenSSH public key")
	})
	s.run("ssh-keys/get", func(t *testing.T) {
		k, _, err := c.SSHKeys.Get(key.ID, nil)
		check(t, err, "SSHKeys.Get")
		if k.Key != publicKey.line || k.Label != "laptop" {
			t.Fatalf("got %+v", k)
		}
	})
	s.run("ssh-keys/update", func(t *testing.T) {
		label := "old laptop"
		k, _, err := c.SSHKeys.Update(key.ID, &packngo.SSHKeyUpdateRequest{Label: &label})
		check(t, err, "SSHKeys.Update")
		if k.Label != label || k.FingerPrint != publicKey.md5 {
			t.Fatalf("got %+v", k)
		}
	})
	s.run("ssh-keys/create-project", func(t *testing.T) {
		k, _, err := c.SSHKeys.Create(&packngo.SSHKeyCreateRequest{
			Label: "deploy", Key: newPublicKey(t, "deploy").line, ProjectID: e.projectID,
		})
		check(t, err, "SSHKeys.Create (project)")
		if k.ID == "" || k.Label != "deploy" {
			t.Fatalf("got %+v", k)
		}
		projectKey = k
	})
	s.run("ssh-keys/project-list", func(t *testing.T) {
		ks, _, err := c.SSHKeys.ProjectList(e.projectID)
		check(t, err, "SSHKeys.ProjectList")
		if len(ks) != 1 || ks[0].ID != projectKey.ID {
			t.Fatalf("got %+v", ks)
		}
	})
	s.run("ssh-keys/delete", func(t *testing.T) {
		for _, id := range []string{key.ID, projectKey.ID} {
			_, err := c.SSHKeys.Delete(id)
			check(t, err, "SSHKeys.Delete")
			_, _, err = c.SSHKeys.Get(id, nil)
			wantPackngoError(t, err, 404, "SSH key")
		}
	})
	s.run("events/device-actions", func(t *testing.T) {
		d, _, err := c.Devices.Create(&packngo.DeviceCreateRequest{
			Hostname: "pk-events", Plan: "c3.small.x86", Metro: "sv", OS: "ubuntu_24_04", ProjectID: e.projectID,
		})
		check(t, err, "Devices.Create")
		_, err = c.Devices.PowerOff(d.ID)
		check(t, err, "Devices.PowerOff")
		device = d
	})
	s.run("events/device-list", func(t *testing.T) {
		es, _, err := c.Devices.ListEvents(device.ID, nil)
		check(t, err, "Devices.ListEvents")
		if len(es) != 2 || es[0].Type != "instance.power_off" || es[1].Type != "instance.created" ||
			es[1].CreatedAt == nil || !strings.Contains(es[1].Interpolated, "pk-events") {
			t.Fatalf("got %+v", es)
		}
		events = es
	})
	s.run("events/project-list", func(t *testing.T) {
		es, _, err := c.Projects.ListEvents(e.projectID, nil)
		check(t, err, "Projects.ListEvents")
		if len(es) < 2 || es[0].ID != events[0].ID {
			t.Fatalf("want the newest first, got %+v", es)
		}
	})
	s.run("events/list-paginated", func(t *testing.T) {
		es, _, err := c.Events.List(&packngo.ListOptions{PerPage: 1})
		check(t, err, "Events.List")
		if len(es) < 2 {
			t.Fatalf("want every event across pages, got %d", len(es))
		}
	})
	s.run("events/organization-list", func(t *testing.T) {
		es, _, err := c.Organizations.ListEvents(orgID, nil)
		check(t, err, "Organizations.ListEvents")
		if len(es) < 2 {
			t.Fatalf("got %d events", len(es))
		}
	})
	s.run("events/get", func(t *testing.T) {
		ev, _, err := c.Events.Get(events[1].ID, nil)
		check(t, err, "Events.Get")
		if ev.ID != events[1].ID || len(ev.Relationships) == 0 || ev.Body == "" {
			t.Fatalf("got %+v", ev)
		}
		_, err = c.Devices.Delete(device.ID, false)
		check(t, err, "Devices.Delete")
	})
	s.run("hardware-reservations/list", func(t *testing.T) {
		rs, _, err := c.HardwareReservations.List(e.projectID, nil)
		check(t, err, "HardwareReservations.List")
		if len(rs) != 1 || rs[0].Plan.Slug != "m3.large.x86" || rs[0].Facility.Code == "" || !rs[0].Provisionable {
			t.Fatalf("want the seeded reservation, got %+v", rs)
		}
		reservation = rs[0]
	})
	s.run("hardware-reservations/get", func(t *testing.T) {
		r, _, err := c.HardwareReservations.Get(reservation.ID, nil)
		check(t, err, "HardwareReservations.Get")
		if r.ID != reservation.ID || r.Facility.Metro == nil || r.Facility.Metro.Code == "" {
			t.Fatalf("got %+v", r)
		}
	})
}
