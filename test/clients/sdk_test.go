package clients

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	metal "github.com/equinix/equinix-sdk-go/services/metalv1"
)

const sdkUserAgent = "ccm-conformance equinix-sdk-go/0.66.0"

// sdkClient configures the official SDK the way its README and the metal CLI do: one server (the simulator),
// the X-Auth-Token header as a default header and an explicit User-Agent.
func sdkClient(e env, key string) *metal.APIClient {
	cfg := metal.NewConfiguration()
	cfg.Servers = metal.ServerConfigurations{{URL: e.baseURL}}
	cfg.AddDefaultHeader("X-Auth-Token", key)
	cfg.UserAgent = sdkUserAgent
	cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	return metal.NewAPIClient(cfg)
}

// wantSDKError asserts that err is the SDK's *GenericOpenAPIError for an answer with this status, and that the
// body decodes into the SDK's Error model with an `errors` entry containing fragment. Where the SDK decodes
// the model itself (401/403/404 on every operation, 422 on some), the decoded model must agree with the body.
func wantSDKError(t *testing.T, err error, resp *http.Response, status int, fragment string) metal.Error {
	t.Helper()
	var oe *metal.GenericOpenAPIError
	if !errors.As(err, &oe) {
		t.Fatalf("want a *metalv1.GenericOpenAPIError with status %d, got %T %v", status, err, err)
	}
	if resp == nil || resp.StatusCode != status {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("want status %d, got %d (%s)", status, code, oe.Body())
	}
	var body metal.Error
	if jerr := json.Unmarshal(oe.Body(), &body); jerr != nil {
		t.Fatalf("error body %q does not decode into metalv1.Error: %v", oe.Body(), jerr)
	}
	if len(body.Errors) == 0 || !strings.Contains(strings.Join(body.Errors, " "), fragment) {
		t.Fatalf("want an `errors` entry mentioning %q, got %q", fragment, body.Errors)
	}
	if len(body.AdditionalProperties) != 0 {
		t.Fatalf("error body has properties the schema lacks: %v", body.AdditionalProperties)
	}
	if m, ok := oe.Model().(metal.Error); ok {
		if strings.Join(m.Errors, "|") != strings.Join(body.Errors, "|") {
			t.Fatalf("SDK decoded %q, body says %q", m.Errors, body.Errors)
		}
		if !strings.Contains(oe.Error(), body.Errors[0]) {
			t.Fatalf("Error() %q does not carry the API's message %q", oe.Error(), body.Errors[0])
		}
	}
	return body
}

// unknownProps collects properties the SDK's models put into AdditionalProperties (the simulator sent a field
// the official schema does not have); one step at the end fails if there are any, without stopping the flow.
type unknownProps map[string][]string

func (u unknownProps) note(what string, extra map[string]interface{}) {
	for k := range extra {
		u[what] = append(u[what], k)
	}
}

func (u unknownProps) report(t *testing.T) {
	t.Helper()
	var lines []string
	for what, keys := range u {
		sort.Strings(keys)
		lines = append(lines, fmt.Sprintf("%s: %s", what, strings.Join(keys, ", ")))
	}
	sort.Strings(lines)
	if len(lines) > 0 {
		t.Fatalf("properties outside the official schema:\n%s", strings.Join(lines, "\n"))
	}
}

func TestSDK(t *testing.T) {
	e := mustEnv(t)
	c := sdkClient(e, e.apiKey)
	ctx := context.Background()
	s := &steps{t: t}
	extra := unknownProps{}
	var withTags, withoutTags, inFacility *metal.Device
	var facilityCode string
	var reservation *metal.IPReservation
	var assignment *metal.IPAssignment
	var session *metal.BgpSession
	const missing = "00000000-0000-4000-8000-00000000dead"

	noteDevice := func(d *metal.Device) {
		extra.note("Device", d.AdditionalProperties)
		if d.Metro != nil {
			extra.note("Device.metro", d.Metro.AdditionalProperties)
		}
		if d.Plan != nil {
			extra.note("Device.plan", d.Plan.AdditionalProperties)
		}
		if d.OperatingSystem != nil {
			extra.note("Device.operating_system", d.OperatingSystem.AdditionalProperties)
		}
		if d.Facility != nil {
			extra.note("Device.facility", d.Facility.AdditionalProperties)
		}
		for _, a := range d.IpAddresses {
			extra.note("Device.ip_addresses[]", a.AdditionalProperties)
		}
	}
	getDevice := func(t *testing.T, id string) *metal.Device {
		t.Helper()
		d, _, err := c.DevicesApi.FindDeviceById(ctx, id).Execute()
		check(t, err, "FindDeviceById")
		noteDevice(d)
		return d
	}
	state := func(id string) func() (string, error) {
		return func() (string, error) {
			d, _, err := c.DevicesApi.FindDeviceById(ctx, id).Execute()
			if err != nil {
				return "", err
			}
			return string(d.GetState()), nil
		}
	}
	action := func(t *testing.T, id string, in *metal.DeviceActionInput) {
		t.Helper()
		resp, err := c.DevicesApi.PerformAction(ctx, id).DeviceActionInput(*in).Execute()
		check(t, err, "PerformAction "+string(in.Type))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("want 202 Accepted, got %d", resp.StatusCode)
		}
	}
	request := func(t *testing.T, in metal.IPReservationRequestInput) *metal.IPReservation {
		t.Helper()
		r, _, err := c.IPAddressesApi.RequestIPReservation(ctx, e.projectID).
			RequestIPReservationRequest(metal.RequestIPReservationRequest{IPReservationRequestInput: &in}).Execute()
		check(t, err, "RequestIPReservation")
		if r.IPReservation == nil {
			t.Fatalf("the answer did not decode as an IPReservation: %+v", r)
		}
		return r.IPReservation
	}
	deleteIP := func(t *testing.T, id string) {
		t.Helper()
		resp, err := c.IPAddressesApi.DeleteIPAddress(ctx, id).Execute()
		check(t, err, "DeleteIPAddress")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("want 204, got %d", resp.StatusCode)
		}
		_, resp, err = c.IPAddressesApi.FindIPAddressById(ctx, id).Execute()
		wantSDKError(t, err, resp, 404, "")
	}

	// --- auth
	s.run("auth/bad-key-401", func(t *testing.T) {
		_, resp, err := sdkClient(e, "not-a-key").ProjectsApi.FindProjects(ctx).Execute()
		wantSDKError(t, err, resp, 401, "")
		var oe *metal.GenericOpenAPIError
		errors.As(err, &oe)
		if m, ok := oe.Model().(metal.Error); !ok || len(m.Errors) == 0 {
			t.Fatalf("the SDK did not decode the 401 body into metalv1.Error: %#v", oe.Model())
		}
	})
	s.run("auth/no-key-401", func(t *testing.T) {
		cfg := metal.NewConfiguration()
		cfg.Servers = metal.ServerConfigurations{{URL: e.baseURL}}
		_, resp, err := metal.NewAPIClient(cfg).MetrosApi.FindMetros(ctx).Execute()
		wantSDKError(t, err, resp, 401, "")
	})

	// --- projects
	s.run("projects/list", func(t *testing.T) {
		ps, _, err := c.ProjectsApi.FindProjects(ctx).Execute()
		check(t, err, "FindProjects")
		extra.note("ProjectList", ps.AdditionalProperties)
		if ps.Meta == nil || ps.Meta.GetTotal() < 1 {
			t.Fatalf("no meta.total: %+v", ps.Meta)
		}
		for _, p := range ps.Projects {
			extra.note("Project", p.AdditionalProperties)
			if p.GetId() == e.projectID {
				return
			}
		}
		t.Fatalf("project %s not in %d projects", e.projectID, len(ps.Projects))
	})
	s.run("projects/list-paginated", func(t *testing.T) {
		ps, err := c.ProjectsApi.FindProjects(ctx).PerPage(1).ExecuteWithPagination()
		check(t, err, "FindProjects.ExecuteWithPagination")
		if len(ps.Projects) < 1 || ps.Projects[0].GetName() == "" {
			t.Fatalf("got %+v", ps.Projects)
		}
	})
	s.run("projects/get", func(t *testing.T) {
		p, _, err := c.ProjectsApi.FindProjectById(ctx, e.projectID).Execute()
		check(t, err, "FindProjectById")
		extra.note("Project", p.AdditionalProperties)
		if p.GetId() != e.projectID || p.GetName() == "" || p.CreatedAt == nil || p.Organization == nil {
			t.Fatalf("got %+v", p)
		}
	})
	s.run("projects/get-404", func(t *testing.T) {
		_, resp, err := c.ProjectsApi.FindProjectById(ctx, missing).Execute()
		wantSDKError(t, err, resp, 404, "")
	})

	// --- catalog
	s.run("metros/list", func(t *testing.T) {
		ms, _, err := c.MetrosApi.FindMetros(ctx).Execute()
		check(t, err, "FindMetros")
		extra.note("MetroList", ms.AdditionalProperties)
		for _, m := range ms.Metros {
			extra.note("Metro", m.AdditionalProperties)
			if m.GetCode() == "sv" && m.GetName() != "" && m.GetCountry() == "US" && m.GetId() != "" {
				return
			}
		}
		t.Fatalf("no sv in %+v", ms.Metros)
	})
	s.run("metros/get", func(t *testing.T) {
		ms, _, err := c.MetrosApi.FindMetros(ctx).Execute()
		check(t, err, "FindMetros")
		m, _, err := c.MetrosApi.GetMetro(ctx, ms.Metros[0].GetId()).Execute()
		check(t, err, "GetMetro")
		if m.GetCode() != ms.Metros[0].GetCode() {
			t.Fatalf("got %+v, want %+v", m, ms.Metros[0])
		}
	})
	s.run("facilities/list", func(t *testing.T) {
		fs, _, err := c.FacilitiesApi.FindFacilities(ctx).Execute()
		check(t, err, "FindFacilities")
		extra.note("FacilityList", fs.AdditionalProperties)
		for _, f := range fs.Facilities {
			extra.note("Facility", f.AdditionalProperties)
			if f.GetCode() == "sv15" && f.Metro != nil && f.Metro.GetCode() == "sv" {
				facilityCode = f.GetCode()
			}
		}
		if facilityCode == "" {
			t.Fatalf("no sv15 in metro sv among %d facilities", len(fs.Facilities))
		}
	})
	s.run("facilities/list-project", func(t *testing.T) {
		fs, _, err := c.FacilitiesApi.FindFacilitiesByProject(ctx, e.projectID).Execute()
		check(t, err, "FindFacilitiesByProject")
		if len(fs.Facilities) == 0 || fs.Facilities[0].GetCode() == "" {
			t.Fatalf("got %+v", fs.Facilities)
		}
	})
	s.run("plans/list", func(t *testing.T) {
		ps, _, err := c.PlansApi.FindPlans(ctx).Execute()
		check(t, err, "FindPlans")
		extra.note("PlanList", ps.AdditionalProperties)
		for _, p := range ps.Plans {
			extra.note("Plan", p.AdditionalProperties)
			if p.GetSlug() == "c3.small.x86" {
				if p.Pricing == nil || p.Specs == nil || len(p.AvailableInMetros) == 0 {
					t.Fatalf("c3.small.x86 lacks pricing/specs/available_in_metros: %+v", p)
				}
				return
			}
		}
		t.Fatalf("no c3.small.x86 in %d plans", len(ps.Plans))
	})
	s.run("plans/list-by-slug", func(t *testing.T) {
		ps, _, err := c.PlansApi.FindPlans(ctx).Slug("c3.small.x86").Execute()
		check(t, err, "FindPlans")
		if len(ps.Plans) != 1 || ps.Plans[0].GetSlug() != "c3.small.x86" {
			t.Fatalf("slug filter gave %d plans", len(ps.Plans))
		}
	})
	s.run("plans/list-project", func(t *testing.T) {
		ps, _, err := c.PlansApi.FindPlansByProject(ctx, e.projectID).Execute()
		check(t, err, "FindPlansByProject")
		found := false
		for _, p := range ps.Plans {
			found = found || p.GetSlug() == "c3.small.x86"
		}
		if !found {
			t.Fatalf("no c3.small.x86 in %d project plans", len(ps.Plans))
		}
	})
	s.run("operating-systems/list", func(t *testing.T) {
		oss, _, err := c.OperatingSystemsApi.FindOperatingSystems(ctx).Execute()
		check(t, err, "FindOperatingSystems")
		extra.note("OperatingSystemList", oss.AdditionalProperties)
		for _, o := range oss.OperatingSystems {
			extra.note("OperatingSystem", o.AdditionalProperties)
			if o.GetSlug() == "ubuntu_24_04" && o.GetDistro() == "ubuntu" && len(o.ProvisionableOn) > 0 {
				return
			}
		}
		t.Fatalf("no ubuntu_24_04 in %d operating systems", len(oss.OperatingSystems))
	})

	// --- devices
	s.run("devices/create-metro-with-tags", func(t *testing.T) {
		in := metal.NewDeviceCreateInMetroInput("sv", "ubuntu_24_04", "c3.small.x86")
		in.SetHostname("sdk-tagged")
		in.SetBillingCycle(metal.DEVICECREATEINPUTBILLINGCYCLE_HOURLY)
		in.Tags = []string{"a", "b"}
		d, resp, err := c.DevicesApi.CreateDevice(ctx, e.projectID).
			CreateDeviceRequest(metal.CreateDeviceRequest{DeviceCreateInMetroInput: in}).Execute()
		check(t, err, "CreateDevice")
		noteDevice(d)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("want 201, got %d", resp.StatusCode)
		}
		if d.GetHostname() != "sdk-tagged" || strings.Join(d.Tags, ",") != "a,b" || d.Metro.GetCode() != "sv" ||
			d.Plan.GetSlug() != "c3.small.x86" || d.OperatingSystem.GetSlug() != "ubuntu_24_04" ||
			d.GetBillingCycle() != "hourly" || d.GetId() == "" {
			t.Fatalf("got %+v", d)
		}
		withTags = d
	})
	s.run("devices/create-metro-without-tags", func(t *testing.T) {
		in := metal.NewDeviceCreateInMetroInput("da", "ubuntu_22_04", "c3.small.x86")
		in.SetHostname("sdk-plain")
		in.SetCustomdata(map[string]interface{}{"role": "worker", "n": 1})
		in.SetUserdata("#!/bin/sh\necho hi\n")
		d, _, err := c.DevicesApi.CreateDevice(ctx, e.projectID).
			CreateDeviceRequest(metal.CreateDeviceRequest{DeviceCreateInMetroInput: in}).Execute()
		check(t, err, "CreateDevice")
		noteDevice(d)
		if len(d.Tags) != 0 || d.Metro.GetCode() != "da" || d.Customdata["role"] != "worker" ||
			d.GetUserdata() != "#!/bin/sh\necho hi\n" {
			t.Fatalf("got tags=%v metro=%v customdata=%v userdata=%q", d.Tags, d.Metro, d.Customdata, d.GetUserdata())
		}
		withoutTags = d
	})
	s.run("devices/create-facility", func(t *testing.T) {
		in := metal.NewDeviceCreateInFacilityInput([]string{facilityCode}, "ubuntu_24_04", "c3.small.x86")
		in.SetHostname("sdk-facility")
		d, _, err := c.DevicesApi.CreateDevice(ctx, e.projectID).
			CreateDeviceRequest(metal.CreateDeviceRequest{DeviceCreateInFacilityInput: in}).Execute()
		check(t, err, "CreateDevice")
		noteDevice(d)
		if d.Facility.GetCode() != facilityCode || d.Metro.GetCode() != "sv" {
			t.Fatalf("got facility %+v metro %+v, want %s in sv", d.Facility, d.Metro, facilityCode)
		}
		inFacility = d
	})
	s.run("devices/create-422-unknown-plan", func(t *testing.T) {
		in := metal.NewDeviceCreateInMetroInput("sv", "ubuntu_24_04", "no.such.plan")
		in.SetHostname("bad")
		_, resp, err := c.DevicesApi.CreateDevice(ctx, e.projectID).
			CreateDeviceRequest(metal.CreateDeviceRequest{DeviceCreateInMetroInput: in}).Execute()
		wantSDKError(t, err, resp, 422, "plan")
	})
	s.run("devices/create-422-unknown-metro", func(t *testing.T) {
		in := metal.NewDeviceCreateInMetroInput("zz", "ubuntu_24_04", "c3.small.x86")
		_, resp, err := c.DevicesApi.CreateDevice(ctx, e.projectID).
			CreateDeviceRequest(metal.CreateDeviceRequest{DeviceCreateInMetroInput: in}).Execute()
		wantSDKError(t, err, resp, 422, "metro")
	})
	s.run("devices/state-active", func(t *testing.T) {
		for _, d := range []*metal.Device{withTags, withoutTags, inFacility} {
			waitState(t, state(d.GetId()), "active")
		}
	})
	s.run("devices/get", func(t *testing.T) {
		d := getDevice(t, withTags.GetId())
		if d.GetId() != withTags.GetId() || d.Plan.GetSlug() != "c3.small.x86" || d.GetState() != metal.DEVICESTATE_ACTIVE ||
			d.CreatedAt == nil || len(d.IpAddresses) < 2 || d.IpAddresses[0].GetAddress() == "" {
			t.Fatalf("got %+v", d)
		}
	})
	s.run("devices/get-include-project", func(t *testing.T) {
		d, _, err := c.DevicesApi.FindDeviceById(ctx, withTags.GetId()).Include([]string{"project"}).Execute()
		check(t, err, "FindDeviceById")
		if d.Project == nil || d.Project.GetName() == "" || d.Project.GetId() != e.projectID {
			t.Fatalf("project not included: %+v", d.Project)
		}
	})
	s.run("devices/get-exclude-ip-addresses", func(t *testing.T) {
		d, _, err := c.DevicesApi.FindDeviceById(ctx, withTags.GetId()).Exclude([]string{"ip_addresses"}).Execute()
		check(t, err, "FindDeviceById")
		if len(d.IpAddresses) == 0 {
			t.Fatal("excluded ip_addresses should stay as hrefs")
		}
		for _, a := range d.IpAddresses {
			if a.GetAddress() != "" || a.GetHref() == "" {
				t.Fatalf("excluded ip_addresses should be bare hrefs, got %+v", a)
			}
		}
	})
	s.run("devices/get-404", func(t *testing.T) {
		_, resp, err := c.DevicesApi.FindDeviceById(ctx, missing).Execute()
		wantSDKError(t, err, resp, 404, "")
	})
	s.run("devices/list-all-pages", func(t *testing.T) {
		ds, err := c.DevicesApi.FindProjectDevices(ctx, e.projectID).PerPage(1).ExecuteWithPagination()
		check(t, err, "FindProjectDevices.ExecuteWithPagination")
		ids := map[string]bool{}
		for _, d := range ds.Devices {
			ids[d.GetId()] = true
		}
		if len(ds.Devices) != 3 || !ids[withTags.GetId()] || !ids[withoutTags.GetId()] || !ids[inFacility.GetId()] {
			t.Fatalf("want the 3 devices across 3 pages, got %d", len(ds.Devices))
		}
	})
	s.run("devices/list-page-2", func(t *testing.T) {
		ds, _, err := c.DevicesApi.FindProjectDevices(ctx, e.projectID).Page(2).PerPage(1).Execute()
		check(t, err, "FindProjectDevices")
		extra.note("DeviceList", ds.AdditionalProperties)
		if len(ds.Devices) != 1 || ds.Meta == nil {
			t.Fatalf("want exactly page 2 of size 1, got %d", len(ds.Devices))
		}
		extra.note("Meta", ds.Meta.AdditionalProperties)
		if ds.Meta.GetCurrentPage() != 2 || ds.Meta.GetLastPage() != 3 || ds.Meta.GetTotal() != 3 ||
			ds.Meta.Next == nil || ds.Meta.Previous == nil || !strings.Contains(ds.Meta.Next.GetHref(), "page=3") {
			t.Fatalf("meta %+v", ds.Meta)
		}
	})
	s.run("devices/list-search", func(t *testing.T) {
		ds, _, err := c.DevicesApi.FindProjectDevices(ctx, e.projectID).Search("sdk-facility").Execute()
		check(t, err, "FindProjectDevices")
		if len(ds.Devices) != 1 || ds.Devices[0].GetId() != inFacility.GetId() {
			t.Fatalf("search gave %d devices", len(ds.Devices))
		}
	})
	s.run("devices/list-filter-metro", func(t *testing.T) {
		ds, _, err := c.DevicesApi.FindProjectDevices(ctx, e.projectID).Metro("da").Execute()
		check(t, err, "FindProjectDevices")
		if len(ds.Devices) != 1 || ds.Devices[0].GetId() != withoutTags.GetId() {
			t.Fatalf("metro=da gave %d devices", len(ds.Devices))
		}
	})
	s.run("devices/list-filter-tag", func(t *testing.T) {
		ds, _, err := c.DevicesApi.FindProjectDevices(ctx, e.projectID).Tag("b").Execute()
		check(t, err, "FindProjectDevices")
		if len(ds.Devices) != 1 || ds.Devices[0].GetId() != withTags.GetId() {
			t.Fatalf("tag=b gave %d devices", len(ds.Devices))
		}
	})
	s.run("devices/list-filter-hostname", func(t *testing.T) {
		ds, _, err := c.DevicesApi.FindProjectDevices(ctx, e.projectID).Hostname("sdk-plain").Execute()
		check(t, err, "FindProjectDevices")
		if len(ds.Devices) != 1 || ds.Devices[0].GetHostname() != "sdk-plain" {
			t.Fatalf("hostname=sdk-plain gave %d devices", len(ds.Devices))
		}
	})
	s.run("devices/update", func(t *testing.T) {
		in := metal.NewDeviceUpdateInput()
		in.SetHostname("sdk-renamed")
		in.SetDescription("renamed by equinix-sdk-go")
		in.Tags = []string{"c"}
		in.SetCustomdata(map[string]interface{}{"role": "control-plane", "nested": map[string]interface{}{"x": true}})
		d, _, err := c.DevicesApi.UpdateDevice(ctx, withTags.GetId()).DeviceUpdateInput(*in).Execute()
		check(t, err, "UpdateDevice")
		noteDevice(d)
		nested, _ := d.Customdata["nested"].(map[string]interface{})
		if d.GetHostname() != "sdk-renamed" || d.GetDescription() != "renamed by equinix-sdk-go" ||
			strings.Join(d.Tags, ",") != "c" || d.Customdata["role"] != "control-plane" || nested["x"] != true {
			t.Fatalf("got %+v", d)
		}
	})
	s.run("devices/update-persisted", func(t *testing.T) {
		d := getDevice(t, withTags.GetId())
		if d.GetHostname() != "sdk-renamed" || d.Customdata["role"] != "control-plane" {
			t.Fatalf("the update did not stick: %s %v", d.GetHostname(), d.Customdata)
		}
	})
	s.run("devices/update-422-bad-hostname", func(t *testing.T) {
		in := metal.NewDeviceUpdateInput()
		in.SetHostname("not a host name!")
		_, resp, err := c.DevicesApi.UpdateDevice(ctx, withTags.GetId()).DeviceUpdateInput(*in).Execute()
		wantSDKError(t, err, resp, 422, "hostname")
	})
	s.run("devices/lock", func(t *testing.T) {
		in := metal.NewDeviceUpdateInput()
		in.SetLocked(true)
		d, _, err := c.DevicesApi.UpdateDevice(ctx, withTags.GetId()).DeviceUpdateInput(*in).Execute()
		check(t, err, "UpdateDevice locked=true")
		if !d.GetLocked() {
			t.Fatal("device not locked")
		}
	})
	s.run("devices/delete-locked-422", func(t *testing.T) {
		resp, err := c.DevicesApi.DeleteDevice(ctx, withTags.GetId()).Execute()
		wantSDKError(t, err, resp, 422, "locked")
		if !getDevice(t, withTags.GetId()).GetLocked() {
			t.Fatal("the locked device changed")
		}
	})
	s.run("devices/unlock", func(t *testing.T) {
		in := metal.NewDeviceUpdateInput()
		in.SetLocked(false)
		d, _, err := c.DevicesApi.UpdateDevice(ctx, withTags.GetId()).DeviceUpdateInput(*in).Execute()
		check(t, err, "UpdateDevice locked=false")
		if d.GetLocked() || d.Locked == nil {
			t.Fatalf("device still locked (locked=%v)", d.Locked)
		}
	})
	s.run("devices/action-power-off", func(t *testing.T) {
		action(t, withoutTags.GetId(), metal.NewDeviceActionInput(metal.DEVICEACTIONINPUTTYPE_POWER_OFF))
	})
	s.run("devices/state-inactive", func(t *testing.T) {
		waitState(t, state(withoutTags.GetId()), "inactive")
	})
	s.run("devices/action-power-on", func(t *testing.T) {
		action(t, withoutTags.GetId(), metal.NewDeviceActionInput(metal.DEVICEACTIONINPUTTYPE_POWER_ON))
		waitState(t, state(withoutTags.GetId()), "active")
	})
	s.run("devices/action-reboot", func(t *testing.T) {
		action(t, withoutTags.GetId(), metal.NewDeviceActionInput(metal.DEVICEACTIONINPUTTYPE_REBOOT))
		waitState(t, state(withoutTags.GetId()), "active")
	})
	s.run("devices/action-reinstall", func(t *testing.T) {
		in := metal.NewDeviceActionInput(metal.DEVICEACTIONINPUTTYPE_REINSTALL)
		in.SetOperatingSystem("debian_12")
		action(t, inFacility.GetId(), in)
		waitState(t, state(inFacility.GetId()), "active")
		if d := getDevice(t, inFacility.GetId()); d.OperatingSystem.GetSlug() != "debian_12" {
			t.Fatalf("reinstalled with %s, want debian_12", d.OperatingSystem.GetSlug())
		}
	})
	s.run("devices/action-422-unknown-type", func(t *testing.T) {
		in := metal.NewDeviceActionInput("explode")
		resp, err := c.DevicesApi.PerformAction(ctx, withoutTags.GetId()).DeviceActionInput(*in).Execute()
		wantSDKError(t, err, resp, 422, "type")
	})

	// --- device IP assignments (management addresses)
	s.run("device-ips/list", func(t *testing.T) {
		as, _, err := c.DevicesApi.FindIPAssignments(ctx, withTags.GetId()).Execute()
		check(t, err, "FindIPAssignments")
		extra.note("IPAssignmentList", as.AdditionalProperties)
		if len(as.IpAddresses) < 2 {
			t.Fatalf("want the device's management addresses, got %d", len(as.IpAddresses))
		}
		for _, a := range as.IpAddresses {
			extra.note("IPAssignment", a.AdditionalProperties)
			if !a.GetManagement() || a.GetAddress() == "" || a.AssignedTo == nil {
				t.Fatalf("got %+v", a)
			}
		}
	})
	s.run("device-ips/get", func(t *testing.T) {
		as, _, err := c.DevicesApi.FindIPAssignments(ctx, withTags.GetId()).Execute()
		check(t, err, "FindIPAssignments")
		got, _, err := c.IPAddressesApi.FindIPAddressById(ctx, as.IpAddresses[0].GetId()).Execute()
		check(t, err, "FindIPAddressById")
		if got.IPAssignment == nil || got.IPAssignment.GetAddress() != as.IpAddresses[0].GetAddress() {
			t.Fatalf("did not decode as the IPAssignment %s: %+v", as.IpAddresses[0].GetAddress(), got)
		}
	})

	// --- IP reservations
	s.run("ips/request-metro", func(t *testing.T) {
		in := *metal.NewIPReservationRequestInput(1, "public_ipv4")
		in.SetMetro("sv")
		in.Tags = []string{"eip", "sdk"}
		in.SetCustomdata(map[string]interface{}{"by": "equinix-sdk-go"})
		in.SetComments("control plane")
		r := request(t, in)
		if r.GetCidr() != 32 || r.Metro.GetCode() != "sv" || strings.Join(r.Tags, ",") != "eip,sdk" ||
			r.Type != metal.IPRESERVATIONTYPE_PUBLIC_IPV4 || !r.GetPublic() || r.GetAddressFamily() != 4 ||
			r.Customdata["by"] != "equinix-sdk-go" || r.GetAddress() == "" || r.GetNetmask() != "255.255.255.255" {
			t.Fatalf("got %+v", r)
		}
		reservation = r
	})
	s.run("ips/request-facility", func(t *testing.T) {
		in := *metal.NewIPReservationRequestInput(2, "public_ipv4")
		in.SetFacility(facilityCode)
		r := request(t, in)
		if r.GetCidr() != 31 || r.Facility.GetCode() != facilityCode {
			t.Fatalf("want a /31 in %s, got /%d in %+v", facilityCode, r.GetCidr(), r.Facility)
		}
		deleteIP(t, r.GetId())
	})
	s.run("ips/request-quantity-4", func(t *testing.T) {
		in := *metal.NewIPReservationRequestInput(4, "public_ipv4")
		in.SetMetro("sv")
		r := request(t, in)
		if r.GetCidr() != 30 || r.GetNetmask() != "255.255.255.252" {
			t.Fatalf("want a /30, got /%d %s", r.GetCidr(), r.GetNetmask())
		}
		av, _, err := c.IPAddressesApi.FindIPAvailabilities(ctx, r.GetId()).
			Cidr(metal.FINDIPAVAILABILITIESCIDRPARAMETER__32).Execute()
		check(t, err, "FindIPAvailabilities")
		if len(av.Available) != 4 {
			t.Fatalf("want 4 available /32s in a /30, got %v", av.Available)
		}
		deleteIP(t, r.GetId())
	})
	s.run("ips/request-global", func(t *testing.T) {
		r := request(t, *metal.NewIPReservationRequestInput(1, "global_ipv4"))
		if !r.GetGlobalIp() || r.Type != metal.IPRESERVATIONTYPE_GLOBAL_IPV4 || r.GetCidr() != 32 {
			t.Fatalf("got %+v", r)
		}
		deleteIP(t, r.GetId())
	})
	s.run("ips/request-422-no-metro", func(t *testing.T) {
		in := *metal.NewIPReservationRequestInput(1, "public_ipv4")
		_, resp, err := c.IPAddressesApi.RequestIPReservation(ctx, e.projectID).
			RequestIPReservationRequest(metal.RequestIPReservationRequest{IPReservationRequestInput: &in}).Execute()
		wantSDKError(t, err, resp, 422, "metro")
	})
	s.run("ips/list", func(t *testing.T) {
		rs, _, err := c.IPAddressesApi.FindIPReservations(ctx, e.projectID).Execute()
		check(t, err, "FindIPReservations")
		extra.note("IPReservationList", rs.AdditionalProperties)
		if !hasSDKReservation(rs, reservation.GetId()) {
			t.Fatalf("reservation %s not in %d", reservation.GetId(), len(rs.IpAddresses))
		}
	})
	s.run("ips/list-types-public_ipv4", func(t *testing.T) {
		rs, _, err := c.IPAddressesApi.FindIPReservations(ctx, e.projectID).
			Types([]metal.FindIPReservationsTypesParameterInner{metal.FINDIPRESERVATIONSTYPESPARAMETERINNER_PUBLIC_IPV4}).Execute()
		check(t, err, "FindIPReservations")
		for _, item := range rs.IpAddresses {
			r := item.IPReservation
			if r == nil || r.Type != metal.IPRESERVATIONTYPE_PUBLIC_IPV4 || r.GetAddressFamily() != 4 || !r.GetPublic() {
				t.Fatalf("types=public_ipv4 gave %+v", item)
			}
		}
		if !hasSDKReservation(rs, reservation.GetId()) {
			t.Fatal("the new reservation is missing")
		}
	})
	s.run("ips/list-all-pages", func(t *testing.T) {
		rs, err := c.IPAddressesApi.FindIPReservations(ctx, e.projectID).
			Types([]metal.FindIPReservationsTypesParameterInner{metal.FINDIPRESERVATIONSTYPESPARAMETERINNER_PUBLIC_IPV4}).
			PerPage(1).ExecuteWithPagination()
		check(t, err, "FindIPReservations.ExecuteWithPagination")
		if !hasSDKReservation(rs, reservation.GetId()) {
			t.Fatalf("reservation %s not among %d across pages", reservation.GetId(), len(rs.IpAddresses))
		}
	})
	s.run("ips/get-include-assignments", func(t *testing.T) {
		got, _, err := c.IPAddressesApi.FindIPAddressById(ctx, reservation.GetId()).
			Include([]string{"assignments"}).Execute()
		check(t, err, "FindIPAddressById")
		r := got.IPReservation
		if r == nil || r.GetAddress() != reservation.GetAddress() || r.Customdata["by"] != "equinix-sdk-go" ||
			r.Assignments == nil || len(r.Assignments) != 0 {
			t.Fatalf("got %+v", got)
		}
	})
	s.run("ips/update-tags", func(t *testing.T) {
		in := metal.NewIPAssignmentUpdateInput()
		in.Tags = []string{"eip", "updated"}
		in.SetCustomdata(map[string]interface{}{"by": "equinix-sdk-go", "step": "update"})
		got, _, err := c.IPAddressesApi.UpdateIPAddress(ctx, reservation.GetId()).IPAssignmentUpdateInput(*in).Execute()
		check(t, err, "UpdateIPAddress")
		if got.IPReservation == nil || strings.Join(got.IPReservation.Tags, ",") != "eip,updated" ||
			got.IPReservation.Customdata["step"] != "update" {
			t.Fatalf("got %+v", got)
		}
	})
	s.run("ips/available", func(t *testing.T) {
		av, _, err := c.IPAddressesApi.FindIPAvailabilities(ctx, reservation.GetId()).
			Cidr(metal.FINDIPAVAILABILITIESCIDRPARAMETER__32).Execute()
		check(t, err, "FindIPAvailabilities")
		extra.note("IPAvailabilitiesList", av.AdditionalProperties)
		if len(av.Available) != 1 || av.Available[0] != reservation.GetAddress()+"/32" {
			t.Fatalf("got %v for %s", av.Available, reservation.GetAddress())
		}
	})
	s.run("ips/assign", func(t *testing.T) {
		a, resp, err := c.DevicesApi.CreateIPAssignment(ctx, withTags.GetId()).
			IPAssignmentInput(*metal.NewIPAssignmentInput(reservation.GetAddress() + "/32")).Execute()
		check(t, err, "CreateIPAssignment")
		extra.note("IPAssignment", a.AdditionalProperties)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("want 201, got %d", resp.StatusCode)
		}
		if a.GetAddress() != reservation.GetAddress() || a.GetCidr() != 32 || a.AssignedTo == nil ||
			!strings.HasSuffix(a.AssignedTo.GetHref(), withTags.GetId()) || a.GetManagement() || !a.GetPublic() {
			t.Fatalf("got %+v", a)
		}
		assignment = a
	})
	s.run("ips/assign-again-422", func(t *testing.T) {
		_, resp, err := c.DevicesApi.CreateIPAssignment(ctx, withoutTags.GetId()).
			IPAssignmentInput(*metal.NewIPAssignmentInput(reservation.GetAddress() + "/32")).Execute()
		wantSDKError(t, err, resp, 422, "")
	})
	s.run("ips/list-device-assignments", func(t *testing.T) {
		as, _, err := c.DevicesApi.FindIPAssignments(ctx, withTags.GetId()).Execute()
		check(t, err, "FindIPAssignments")
		for _, a := range as.IpAddresses {
			if a.GetId() == assignment.GetId() && a.GetAddress() == reservation.GetAddress() && !a.GetManagement() {
				return
			}
		}
		t.Fatalf("assignment %s not among the device's %d", assignment.GetId(), len(as.IpAddresses))
	})
	s.run("ips/get-assigned", func(t *testing.T) {
		got, _, err := c.IPAddressesApi.FindIPAddressById(ctx, reservation.GetId()).
			Include([]string{"assignments"}).Execute()
		check(t, err, "FindIPAddressById")
		if got.IPReservation == nil || len(got.IPReservation.Assignments) != 1 ||
			got.IPReservation.Assignments[0].GetId() != assignment.GetId() {
			t.Fatalf("want the 1 assignment, got %+v", got)
		}
	})
	s.run("ips/unassign", func(t *testing.T) {
		deleteIP(t, assignment.GetId())
		as, _, err := c.DevicesApi.FindIPAssignments(ctx, withTags.GetId()).Execute()
		check(t, err, "FindIPAssignments")
		for _, a := range as.IpAddresses {
			if a.GetId() == assignment.GetId() {
				t.Fatal("the assignment is still listed on the device")
			}
		}
	})

	// --- BGP
	s.run("bgp-config/get-before-request", func(t *testing.T) {
		cfg, _, err := c.BGPApi.FindBgpConfigByProject(ctx, e.projectID).Execute()
		check(t, err, "FindBgpConfigByProject")
		// Metal answers 200 with an empty object while BGP was never requested.
		if cfg.GetId() != "" || cfg.GetStatus() == metal.BGPCONFIGSTATUS_ENABLED || cfg.Asn != nil {
			t.Fatalf("want an empty BgpConfig before it was requested, got %+v", cfg)
		}
	})
	s.run("bgp-config/request", func(t *testing.T) {
		in := metal.NewBgpConfigRequestInput(65000, metal.BGPCONFIGREQUESTINPUTDEPLOYMENTTYPE_LOCAL)
		in.SetMd5("Passw0rdXyz1")
		in.SetUseCase("conformance")
		resp, err := c.BGPApi.RequestBgpConfig(ctx, e.projectID).BgpConfigRequestInput(*in).Execute()
		check(t, err, "RequestBgpConfig")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("want 204, got %d", resp.StatusCode)
		}
	})
	s.run("bgp-config/get", func(t *testing.T) {
		cfg, _, err := c.BGPApi.FindBgpConfigByProject(ctx, e.projectID).Execute()
		check(t, err, "FindBgpConfigByProject")
		extra.note("BgpConfig", cfg.AdditionalProperties)
		if cfg.GetAsn() != 65000 || cfg.GetDeploymentType() != metal.BGPCONFIGDEPLOYMENTTYPE_LOCAL ||
			cfg.GetStatus() != metal.BGPCONFIGSTATUS_ENABLED || cfg.GetId() == "" || cfg.GetMaxPrefix() == 0 {
			t.Fatalf("got %+v", cfg)
		}
	})
	s.run("bgp-config/request-again-422", func(t *testing.T) {
		in := metal.NewBgpConfigRequestInput(65000, metal.BGPCONFIGREQUESTINPUTDEPLOYMENTTYPE_LOCAL)
		resp, err := c.BGPApi.RequestBgpConfig(ctx, e.projectID).BgpConfigRequestInput(*in).Execute()
		wantSDKError(t, err, resp, 422, "")
	})
	s.run("bgp-sessions/create", func(t *testing.T) {
		in := metal.NewBGPSessionInput()
		in.SetAddressFamily(metal.BGPSESSIONINPUTADDRESSFAMILY_IPV4)
		in.SetDefaultRoute(false)
		bs, _, err := c.DevicesApi.CreateBgpSession(ctx, withTags.GetId()).BGPSessionInput(*in).Execute()
		check(t, err, "CreateBgpSession")
		extra.note("BgpSession", bs.AdditionalProperties)
		if bs.AddressFamily != metal.BGPSESSIONADDRESSFAMILY_IPV4 || bs.GetDefaultRoute() || bs.GetId() == "" ||
			bs.Device == nil || !strings.HasSuffix(bs.Device.GetHref(), withTags.GetId()) {
			t.Fatalf("got %+v", bs)
		}
		session = bs
	})
	s.run("bgp-sessions/create-duplicate-422", func(t *testing.T) {
		in := metal.NewBGPSessionInput()
		in.SetAddressFamily(metal.BGPSESSIONINPUTADDRESSFAMILY_IPV4)
		_, resp, err := c.DevicesApi.CreateBgpSession(ctx, withTags.GetId()).BGPSessionInput(*in).Execute()
		wantSDKError(t, err, resp, 422, "already has session")
	})
	s.run("bgp-sessions/get", func(t *testing.T) {
		bs, _, err := c.BGPApi.FindBgpSessionById(ctx, session.GetId()).Execute()
		check(t, err, "FindBgpSessionById")
		if bs.GetId() != session.GetId() || bs.AddressFamily != metal.BGPSESSIONADDRESSFAMILY_IPV4 || bs.GetStatus() == "" {
			t.Fatalf("got %+v", bs)
		}
	})
	s.run("bgp-sessions/list-device", func(t *testing.T) {
		ss, _, err := c.DevicesApi.FindBgpSessions(ctx, withTags.GetId()).Execute()
		check(t, err, "FindBgpSessions")
		extra.note("BgpSessionList", ss.AdditionalProperties)
		if len(ss.BgpSessions) != 1 || ss.BgpSessions[0].GetId() != session.GetId() {
			t.Fatalf("got %d sessions", len(ss.BgpSessions))
		}
	})
	s.run("bgp-sessions/list-project", func(t *testing.T) {
		ss, _, err := c.BGPApi.FindProjectBgpSessions(ctx, e.projectID).Execute()
		check(t, err, "FindProjectBgpSessions")
		for _, bs := range ss.BgpSessions {
			if bs.GetId() == session.GetId() {
				return
			}
		}
		t.Fatalf("session %s not among %d", session.GetId(), len(ss.BgpSessions))
	})
	s.run("bgp-neighbors/get", func(t *testing.T) {
		ns, _, err := c.DevicesApi.GetBgpNeighborData(ctx, withTags.GetId()).Execute()
		check(t, err, "GetBgpNeighborData")
		extra.note("BgpSessionNeighbors", ns.AdditionalProperties)
		if len(ns.BgpNeighbors) == 0 {
			t.Fatal("no neighbors")
		}
		n := ns.BgpNeighbors[0]
		extra.note("BgpNeighborData", n.AdditionalProperties)
		if n.GetAddressFamily() != 4 || n.GetCustomerAs() != 65000 || len(n.PeerIps) == 0 || n.GetPeerAs() == 0 ||
			n.GetCustomerIp() == "" || !n.GetMd5Enabled() {
			t.Fatalf("got %+v", n)
		}
	})
	s.run("bgp-sessions/delete", func(t *testing.T) {
		resp, err := c.BGPApi.DeleteBgpSession(ctx, session.GetId()).Execute()
		check(t, err, "DeleteBgpSession")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("want 204, got %d", resp.StatusCode)
		}
		_, resp, err = c.BGPApi.FindBgpSessionById(ctx, session.GetId()).Execute()
		wantSDKError(t, err, resp, 404, "")
	})

	// --- error bodies
	s.run("errors/404-body", func(t *testing.T) {
		_, resp, err := c.IPAddressesApi.FindIPAddressById(ctx, missing).Execute()
		body := wantSDKError(t, err, resp, 404, "")
		if resp.Header.Get("Content-Type") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("404 Content-Type %q", resp.Header.Get("Content-Type"))
		}
		if body.GetErrors()[0] == "" {
			t.Fatal("empty error text")
		}
	})
	s.run("errors/422-body", func(t *testing.T) {
		in := metal.NewDeviceCreateInMetroInput("sv", "no_such_os", "c3.small.x86")
		_, resp, err := c.DevicesApi.CreateDevice(ctx, e.projectID).
			CreateDeviceRequest(metal.CreateDeviceRequest{DeviceCreateInMetroInput: in}).Execute()
		wantSDKError(t, err, resp, 422, "operating_system")
		var oe *metal.GenericOpenAPIError
		errors.As(err, &oe)
		if _, ok := oe.Model().(metal.Error); !ok {
			t.Fatalf("CreateDevice documents a 422 Error model, the SDK decoded %#v", oe.Model())
		}
	})

	// --- clean up
	s.run("ips/delete", func(t *testing.T) {
		deleteIP(t, reservation.GetId())
	})
	for i, d := range []**metal.Device{&withTags, &withoutTags, &inFacility} {
		s.run(fmt.Sprintf("devices/delete-%d", i+1), func(t *testing.T) {
			resp, err := c.DevicesApi.DeleteDevice(ctx, (*d).GetId()).Execute()
			check(t, err, "DeleteDevice")
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("want 204, got %d", resp.StatusCode)
			}
			_, resp, err = c.DevicesApi.FindDeviceById(ctx, (*d).GetId()).Execute()
			wantSDKError(t, err, resp, 404, "")
		})
	}
	s.run("devices/list-empty", func(t *testing.T) {
		ds, _, err := c.DevicesApi.FindProjectDevices(ctx, e.projectID).Execute()
		check(t, err, "FindProjectDevices")
		if len(ds.Devices) != 0 || ds.Meta.GetTotal() != 0 {
			t.Fatalf("want no devices left, got %d", len(ds.Devices))
		}
	})
	t.Run("schema/no-unknown-properties", func(t *testing.T) { extra.report(t) })
}

func hasSDKReservation(rs *metal.IPReservationList, id string) bool {
	for _, item := range rs.IpAddresses {
		if item.IPReservation != nil && item.IPReservation.GetId() == id {
			return true
		}
	}
	return false
}
