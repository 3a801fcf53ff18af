{{/* Chart name, or nameOverride. */}}
{{- define "cloud-provider-equinix-metal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: fullnameOverride, else the release name when it contains the chart name, else
<release>-<chart>; at most 63 characters (DNS label).
*/}}
{{- define "cloud-provider-equinix-metal.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cloud-provider-equinix-metal.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cloud-provider-equinix-metal.labels" -}}
helm.sh/chart: {{ include "cloud-provider-equinix-metal.chart" . }}
{{ include "cloud-provider-equinix-metal.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "cloud-provider-equinix-metal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloud-provider-equinix-metal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cloud-provider-equinix-metal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cloud-provider-equinix-metal.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cloud-provider-equinix-metal.configSecretName" -}}
{{- if .Values.configSecret.create }}
{{- default (include "cloud-provider-equinix-metal.fullname" .) .Values.configSecret.name }}
{{- else }}
{{- required "configSecret.name is required when configSecret.create is false: name an existing Secret with a cloud-sa.json key" .Values.configSecret.name }}
{{- end }}
{{- end }}

{{- define "cloud-provider-equinix-metal.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}
