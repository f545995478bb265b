"""What only installs or repairs the host: the installer, native-library quieting, the
torchaudio repair. Nothing in the listening path imports from here but `native`."""
