module github.com/equinix/cloud-provider-equinix-metal/test/clients

go 1.26

require github.com/packethost/packngo v0.31.0

require (
	github.com/equinix/equinix-sdk-go v0.66.0
	gopkg.in/validator.v2 v2.0.1 // indirect
)
