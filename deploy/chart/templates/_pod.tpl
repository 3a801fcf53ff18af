{{/* The pod template shared by the DaemonSet and the Deployment. */}}
{{- define "cloud-provider-equinix-metal.podTemplate" -}}
metadata:
  {{- $annotations := deepCopy (.Values.podAnnotations | default dict) }}
  {{- if .Values.configSecret.create }}
  {{- /* Restarts the pods when the configuration changes. */}}
  {{- $_ := set $annotations "checksum/config" (include (print $.Template.BasePath "/secret.yaml") . | sha256sum) }}
  {{- end }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  labels:
    {{- include "cloud-provider-equinix-metal.selectorLabels" . | nindent 4 }}
spec:
  serviceAccountName: {{ include "cloud-provider-equinix-metal.serviceAccountName" . }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  # ccm must run before the pod network works on uninitialized nodes.
  hostNetwork: true
  dnsPolicy: Default
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.hostAliases }}
  hostAliases:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  affinity:
  {{- if .Values.affinity }}
    {{- toYaml .Values.affinity | nindent 4 }}
  {{- else }}
    {{- if eq .Values.kind "Deployment" }}
    # Spread the replicas over nodes (the host port forbids two on one node anyway).
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "cloud-provider-equinix-metal.selectorLabels" . | nindent 16 }}
    {{- end }}
    # Control-plane nodes, by any of the labels in use (logical OR).
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - key: kubernetes.io/role
                operator: In
                values: [master]
          - matchExpressions:
              - key: node-role.kubernetes.io/control-plane
                operator: Exists
          - matchExpressions:
              - key: node-role.kubernetes.io/master
                operator: Exists
  {{- end }}
  tolerations:
    # Set by every kubelet started with --cloud-provider=external until ccm initializes the node.
    - key: node.cloudprovider.kubernetes.io/uninitialized
      value: "true"
      effect: NoSchedule
    - key: CriticalAddonsOnly
      operator: Exists
    - key: node-role.kubernetes.io/control-plane
      operator: Exists
      effect: NoSchedule
    - key: node-role.kubernetes.io/master
      operator: Exists
      effect: NoSchedule
    - key: node.kubernetes.io/not-ready
      operator: Exists
      effect: NoSchedule
    {{- with .Values.tolerations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  containers:
    - name: {{ .Chart.Name }}
      image: "{{ .Values.image.repository }}:{{ include "cloud-provider-equinix-metal.imageTag" . }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - ./cloud-provider-equinix-metal
        - --cloud-provider=equinixmetal
        - --leader-elect=true
        - --leader-elect-resource-namespace={{ .Values.leaderElection.namespace }}
        - --leader-elect-resource-name={{ .Values.leaderElection.resourceName }}
        - --authentication-skip-lookup=true
        - --cloud-config=/etc/cloud-sa/cloud-sa.json
        {{- with .Values.additionalCommands }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.env }}
      env:
        {{- range $name, $value := . }}
        - name: {{ $name }}
          {{- if kindIs "map" $value }}
          {{- toYaml $value | nindent 10 }}
          {{- else }}
          value: {{ $value | toString | quote }}
          {{- end }}
        {{- end }}
      {{- end }}
      {{- with .Values.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        # With hostNetwork this is a host port.
        - name: https
          containerPort: 10258
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: 10258
          scheme: HTTPS
        initialDelaySeconds: 15
        periodSeconds: 10
        timeoutSeconds: 15
        failureThreshold: 8
      readinessProbe:
        httpGet:
          path: /readyz
          port: 10258
          scheme: HTTPS
        periodSeconds: 10
        timeoutSeconds: 5
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: cloud-sa-volume
          mountPath: /etc/cloud-sa
          readOnly: true
        {{- with .Values.volumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: cloud-sa-volume
      secret:
        secretName: {{ include "cloud-provider-equinix-metal.configSecretName" . }}
    {{- with .Values.volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
