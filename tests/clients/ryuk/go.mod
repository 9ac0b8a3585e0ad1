module deskrun.test/clients/ryuk

go 1.26
