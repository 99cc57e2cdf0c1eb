# Packer example: patch an AMI with patchbaseline while it is built.
#
#   1. install every update the patch baseline approves, NoReboot, failing the build when one
#      fails or is still missing (--fail-on failed,missing);
#   2. reboot the build instance so the new kernel/libraries are the ones running;
#   3. scan again (must be compliant) and download both JSON reports next to the build output.
#
#   packer init packaging/packer && packer build \
#     -var binary=dist/patchbaseline-0.1.0-x86_64-linux packaging/packer
#
# Adapt the source block to your account (AMI filter, region, subnet); docs/images.md.

packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.3.0"
    }
  }
}

variable "binary" {
  type        = string
  description = "The portable patchbaseline binary built by packaging/build-dist.sh."
}

variable "baseline" {
  type        = string
  default     = ""
  description = "Optional: a BaselineOverride / get-patch-baseline JSON file to patch against."
}

variable "region" {
  type    = string
  default = "us-east-1"
}

source "amazon-ebs" "al2023" {
  region        = var.region
  instance_type = "t3.small"
  ssh_username  = "ec2-user"
  ami_name      = "al2023-patched-{{timestamp}}"
  source_ami_filter {
    filters = {
      name                = "al2023-ami-2023.*-x86_64"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }
}

build {
  sources = ["source.amazon-ebs.al2023"]

  provisioner "file" {
    source      = var.binary
    destination = "/tmp/patchbaseline"
  }

  provisioner "file" {
    # Without a baseline variable a placeholder is uploaded and the predefined baseline is used.
    content     = var.baseline == "" ? "none\n" : file(var.baseline)
    destination = "/tmp/baseline.json"
  }

  provisioner "shell" {
    inline = [
      "sudo install -m 0755 /tmp/patchbaseline /usr/local/bin/patchbaseline",
      "sudo mkdir -p /var/log/patchbaseline",
      "if [ \"$(cat /tmp/baseline.json)\" != none ]; then B='--baseline-override /tmp/baseline.json'; else B=''; fi",
      # Exit 1 (failed or missing patches) fails the build; the report is written either way.
      "sudo /usr/local/bin/patchbaseline run --operation Install --reboot-option NoReboot $B --fail-on failed,missing --report /var/log/patchbaseline/image-install.json",
    ]
  }

  provisioner "shell" {
    inline            = ["sudo systemctl reboot"]
    expect_disconnect = true
  }

  provisioner "shell" {
    pause_before = "30s"
    inline = [
      "if [ \"$(cat /tmp/baseline.json)\" != none ]; then B='--baseline-override /tmp/baseline.json'; else B=''; fi",
      "sudo /usr/local/bin/patchbaseline run --operation Scan $B --fail-on missing,failed,installed-pending-reboot --report /var/log/patchbaseline/image-scan.json",
      "sudo chmod 0644 /var/log/patchbaseline/*.json",
    ]
  }

  # The reports are build artifacts: downloaded next to the build output.
  provisioner "file" {
    direction   = "download"
    source      = "/var/log/patchbaseline/image-install.json"
    destination = "output/patchbaseline-image-install.json"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/var/log/patchbaseline/image-scan.json"
    destination = "output/patchbaseline-image-scan.json"
  }
}
