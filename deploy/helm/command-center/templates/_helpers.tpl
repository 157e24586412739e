{{/* Name of the chart. */}}
{{- define "command-center.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified prefix of every object: the release name, plus the chart name unless it already holds it. */}}
{{- define "command-center.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of one service's objects. Call with (dict "root" $ "name" $name). */}}
{{- define "command-center.serviceName" -}}
{{- printf "%s-%s" (include "command-center.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of one service's objects. Call with (dict "root" $ "name" $name). */}}
{{- define "command-center.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: {{ include "command-center.name" .root }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- if .root.Chart.AppVersion }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- end }}
{{ include "command-center.selectorLabels" . }}
{{- end -}}

{{/* Selector labels of one service. Call with (dict "root" $ "name" $name). */}}
{{- define "command-center.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Image of one service: its own image.repository/tag, else the chart-wide ones. Call with (dict "root" $ "svc" $svc). */}}
{{- define "command-center.image" -}}
{{- $image := .svc.image | default dict -}}
{{- $repository := $image.repository | default .root.Values.image.repository -}}
{{- $tag := $image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
