print("hrm")
